import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KEYHOLE_RUN_LABEL, podmanEnv, type SecretBackend, type Workload } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerBackend } from "./index.js";

// The same backend against Podman's Docker-compatible API. A file of its own, because
// testcontainers binds one endpoint per process (vitest runs each file in its own module graph).
describe("on Podman's Docker-compatible socket", () => {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-docker-podman-"));
  const socketPath = join(dir, "d.sock");
  const token = `pod-${randomBytes(12).toString("hex")}`;
  let service: ChildProcess | undefined;
  let oracle: Dockerode;
  let backend: SecretBackend;
  let w: Workload;

  beforeAll(async () => {
    const image = await ensureProbeImage("podman");
    service = spawn("podman", ["system", "service", "--time=0", `unix://${socketPath}`], {
      env: podmanEnv(),
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    service.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    oracle = new Dockerode({ socketPath });
    for (let i = 0; ; i++) {
      if (
        existsSync(socketPath) &&
        (await oracle.ping().then(
          () => true,
          () => false,
        ))
      )
        break;
      if (i > 300 || service.exitCode !== null) throw new Error(`podman service: ${stderr}`);
      await sleep(100);
    }
    backend = dockerBackend({ socketPath, id: "docker-on-podman" });
    const secret = await backend.createSecret("api-token", token);
    w = await backend.run({
      image,
      command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
      capDrop: ["DAC_OVERRIDE"],
      secrets: [
        { secret, as: "env", name: "API_TOKEN" },
        { secret, as: "file", uid: 2000, gid: 2000, mode: 0o400 },
      ],
    });
  });

  afterAll(async () => {
    await backend?.dispose();
    service?.kill("SIGTERM");
    if (service && service.exitCode === null) await new Promise((r) => service?.on("exit", r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("reports the engine as Podman", async () => {
    expect(backend.engine).toMatchObject({ kind: "podman", endpoint: `unix://${socketPath}` });
    expect((await backend.ready()).version).toMatch(/^\d+\.\d+/);
  });

  it("delivers env and a 2000/2000/0400 file: alice reads, bob is refused", async () => {
    expect((await w.exec(["sh", "-c", 'printf %s "$API_TOKEN"'])).stdout).toBe(token);
    const st = await w.exec(["stat", "-c", "%u %g %a", "/run/secrets/api-token"]);
    expect(st.stdout.trim()).toBe("2000 2000 400");
    const alice = await w.exec(["cat", "/run/secrets/api-token"], { user: "alice" });
    expect(alice).toMatchObject({ exitCode: 0, stdout: token });
    const bob = await w.exec(["cat", "/run/secrets/api-token"], { user: "bob" });
    expect(bob.stderr).toContain("Permission denied");
  });

  it("lifecycle.cleanup: dispose leaves nothing with the run's label", async () => {
    const runId = backend.runId;
    const filters = { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] };
    expect(await oracle.listContainers({ all: true, filters })).toHaveLength(1);
    await backend.dispose();
    expect(await oracle.listContainers({ all: true, filters })).toEqual([]);
  });
});
