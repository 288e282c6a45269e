import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { SecretBackend } from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deadSharedServiceDirs } from "./gc.js";
import { podmanFileBackend, podmanPassBackend } from "./index.js";
import { containersOfRun, secretsOfRun } from "./test-helpers.js";

const IDLE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/** `podman system service` processes whose argv names `socket`. */
function servicesOn(socket: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .flatMap((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return argv.includes("service") && argv.some((a) => a.includes(socket)) ? [pid] : [];
      } catch {
        return [];
      }
    })
    .filter((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "podman");
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** Creates a secret, starts a workload with it as a file, and returns what the workload reads. */
async function roundTrip(backend: SecretBackend, image: string): Promise<boolean> {
  const value = randomBytes(16).toString("hex");
  const secret = await backend.createSecret(`kh-shared-${randomBytes(3).toString("hex")}`, value);
  const w = await backend.run({ image, command: IDLE, secrets: [{ secret, as: "file" }] });
  const r = await w.exec(["sh", "-c", `sha256sum < ${w.fileTargets[0]} | cut -c1-64`]);
  await w.stop();
  return r.stdout.trim() === sha(value);
}

describe("one Podman API service per process", () => {
  let image: string;
  let file: SecretBackend;
  let pass: SecretBackend;
  let socket: string;

  beforeAll(async () => {
    image = await ensureProbeImage("podman");
    file = podmanFileBackend();
    pass = podmanPassBackend();
    socket = file.engine.endpoint!.replace("unix://", "");
  });

  afterAll(async () => {
    await file?.dispose();
    await pass?.dispose();
  });

  it("a file and a pass backend share it, and the last dispose stops it", async () => {
    expect(pass.engine.endpoint).toBe(file.engine.endpoint);
    expect(servicesOn(socket)).toEqual([]);
    await Promise.all([file.ready(), pass.ready()]);
    expect(servicesOn(socket)).toHaveLength(1);
    expect(await roundTrip(file, image)).toBe(true);
    expect(await roundTrip(pass, image)).toBe(true);

    // The first dispose leaves the other backend's service running, and removes only its own.
    const fileRun = file.runId;
    await file.dispose();
    expect(await containersOfRun(fileRun)).toEqual([]);
    expect(await secretsOfRun(fileRun)).toEqual([]);
    expect(servicesOn(socket)).toHaveLength(1);
    expect(await roundTrip(pass, image)).toBe(true);

    await pass.dispose();
    expect(await containersOfRun(pass.runId)).toEqual([]);
    expect(await secretsOfRun(pass.runId)).toEqual([]);
    expect(servicesOn(socket)).toEqual([]);
    expect(existsSync(dirname(socket))).toBe(false);
  });

  it("a backend made after the last dispose starts a new one at the same path", async () => {
    const again = podmanFileBackend();
    try {
      expect(again.engine.endpoint).toBe(`unix://${socket}`);
      expect(await roundTrip(again, image)).toBe(true);
      expect(servicesOn(socket)).toHaveLength(1);
    } finally {
      await again.dispose();
    }
    expect(servicesOn(socket)).toEqual([]);
  });

  it("a backend given socketPath uses it and never stops it", async () => {
    const owner = podmanFileBackend();
    await owner.ready();
    const guest = podmanPassBackend({ socketPath: socket });
    try {
      expect(await roundTrip(guest, image)).toBe(true);
      await guest.dispose();
      expect(servicesOn(socket)).toHaveLength(1);
      expect(await roundTrip(owner, image)).toBe(true);
    } finally {
      await guest.dispose();
      await owner.dispose();
    }
    expect(servicesOn(socket)).toEqual([]);
  });
});

describe("deadSharedServiceDirs", () => {
  it("lists shared service dirs older than a minute whose socket does not answer, nothing else", async () => {
    const root = await mkdtemp(join(tmpdir(), "kh-shared-gc-"));
    try {
      const old = join(root, "keyhole-podman-svc-0a1b2c3d-0");
      const young = join(root, "keyhole-podman-svc-0a1b2c3d-1");
      const other = join(root, "keyhole-podman-0a1b2c3d");
      for (const d of [old, young, other]) await mkdir(d);
      await writeFile(join(old, "podman.sock"), "");
      await utimes(old, new Date(0), new Date(0));
      await utimes(other, new Date(0), new Date(0));
      expect(await deadSharedServiceDirs(root)).toEqual([old]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
