import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSwarmBackend } from "./index.js";

// The shared dockerd must stay in its swarm while others test, so the "swarm inactive" and
// "worker node" answers come from a stand-in socket that serves only /version and /info, the
// two requests ready() makes. Everything else in this package runs against the real engine.
let dir: string;
let server: Server;
let swarm: { LocalNodeState: string; ControlAvailable: boolean };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "keyhole-swarm-ready-"));
  server = createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    if (req.url?.endsWith("/version")) res.end(JSON.stringify({ Version: "20.10.24" }));
    else if (req.url?.endsWith("/info")) res.end(JSON.stringify({ Swarm: swarm }));
    else res.writeHead(404).end(JSON.stringify({ message: "not here" }));
  });
  await new Promise<void>((r) => server.listen(join(dir, "docker.sock"), r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe("ready()", () => {
  it("swarm inactive → ENGINE_UNAVAILABLE with `docker swarm init`", async () => {
    swarm = { LocalNodeState: "inactive", ControlAvailable: false };
    const b = dockerSwarmBackend({ socketPath: join(dir, "docker.sock") });
    await expect(b.ready()).rejects.toMatchObject({
      code: "ENGINE_UNAVAILABLE",
      fix: "docker swarm init --advertise-addr 127.0.0.1",
      message: `[keyhole] [docker-swarm] The Docker engine at unix://${dir}/docker.sock (20.10.24) is not part of a swarm (state: inactive). Fix: docker swarm init --advertise-addr 127.0.0.1`,
    });
  });

  it("a worker node → ENGINE_UNAVAILABLE", async () => {
    swarm = { LocalNodeState: "active", ControlAvailable: false };
    const b = dockerSwarmBackend({ socketPath: join(dir, "docker.sock") });
    await expect(b.ready()).rejects.toMatchObject({ code: "ENGINE_UNAVAILABLE" });
  });

  it("an active manager → the version", async () => {
    swarm = { LocalNodeState: "active", ControlAvailable: true };
    const b = dockerSwarmBackend({ socketPath: join(dir, "docker.sock") });
    await expect(b.ready()).resolves.toEqual({ version: "20.10.24" });
  });
});
