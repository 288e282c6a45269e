import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { ProcScanner } from "@keyhole/conformance";
import type { SecretBackend, SecretHandle, Workload } from "@keyhole/core";
import { dockerClient, resolveDockerEndpoint } from "@keyhole/docker-api";
import { ensureProbeImage } from "@keyhole/probe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerSwarmBackend, swarmGc } from "./index.js";
import { transpileForChild } from "./test-transpile.js";

// Oracle: the Docker Engine API and Debian's docker CLI, bypassing the adapter.
const socket = resolveDockerEndpoint("docker-swarm");
const docker = dockerClient("docker-swarm", socket);
const DOCKER_CLI = "/usr/bin/docker";
const KEEPALIVE = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];
const cli = (...args: string[]) => execFileSync(DOCKER_CLI, args, { encoding: "utf8" }).trim();

/** Everything on the engine carrying `keyhole.run=<runId>` (services, secrets, containers). */
function leftovers(runId: string): string[] {
  const f = `label=keyhole.run=${runId}`;
  return [
    ...cli("service", "ls", "-q", "--filter", f).split("\n"),
    ...cli("secret", "ls", "-q", "--filter", f).split("\n"),
    ...cli("ps", "-aq", "--filter", f).split("\n"),
  ].filter(Boolean);
}

// Samples host processes for the values while the whole file runs (conformance's scanner).
const scan = new ProcScanner();
const costs: Record<string, number> = {};
const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t = performance.now();
  try {
    return await f();
  } finally {
    costs[what] = Math.round(performance.now() - t);
  }
};

let image: string;
let backend: SecretBackend;
let token: SecretHandle;
let tokenValue: string;
let blob: SecretHandle;
let blobValue: Uint8Array;
let w: Workload;

beforeAll(async () => {
  image = await ensureProbeImage("docker");
  backend = dockerSwarmBackend();
  await backend.ready();
  tokenValue = `tok-${randomBytes(16).toString("hex")}`;
  blobValue = new Uint8Array(randomBytes(4096));
  blobValue.set([0, 255, 0, 10], 0); // NUL, non-UTF-8 and newline bytes for sure
  scan.watch("token", tokenValue);
  scan.watch("blob", blobValue.subarray(0, 64));
  scan.start(50);
  token = await timed("secret create", () =>
    backend.createSecret(`token-${backend.runId}`, tokenValue),
  );
  blob = await backend.createSecret(`blob-${backend.runId}`, blobValue);
  w = await timed("service create → running", () =>
    backend.run({
      image,
      command: KEEPALIVE,
      capDrop: ["DAC_OVERRIDE"],
      allowTargetOutsideSecretsDir: true,
      secrets: [
        { secret: token, as: "file", target: "token", uid: 2000, gid: 2000, mode: 0o400 },
        // The same secret again, outside /run/secrets, with the same owner and mode.
        { secret: token, as: "file", target: "/etc/app/token", uid: 2000, gid: 2000, mode: 0o400 },
        { secret: blob, as: "file", target: "blob" },
      ],
    }),
  );
});

afterAll(async () => {
  await scan.stop();
  await backend?.dispose();
  console.info(`[docker-swarm] measured costs (ms): ${JSON.stringify(costs)}`);
});

describe("docker-swarm backend", () => {
  it("ready() reports the engine version; engine and capabilities are declared", async () => {
    expect((await backend.ready()).version).toMatch(/^\d+\.\d+/);
    expect(backend.engine).toEqual({
      kind: "docker",
      name: "docker swarm",
      endpoint: socket.endpoint,
    });
    expect(backend.capabilities).toMatchObject({
      envDelivery: false,
      scrubAfterUse: false,
      replaceInPlace: false,
      maxValueBytes: 511_999,
    });
  });

  it("ready() names the fix when dockerd does not answer", async () => {
    const gone = dockerSwarmBackend({ socketPath: "/tmp/keyhole-no-such-docker.sock" });
    await expect(gone.ready()).rejects.toMatchObject({
      code: "ENGINE_UNAVAILABLE",
      fix: "node scripts/setup.mjs",
      message:
        "[keyhole] [docker-swarm] No Docker engine answers on unix:///tmp/keyhole-no-such-docker.sock (ENOENT) while trying to answer a version request. Fix: node scripts/setup.mjs",
    });
  });

  it("secrets carry ownership labels and are listed", async () => {
    const info = await docker.getSecret(token.id).inspect();
    expect(info.Spec?.Labels).toMatchObject({
      keyhole: "true",
      "keyhole.run": backend.runId,
      "keyhole.backend": "docker-swarm",
    });
    const listed = await backend.listSecrets();
    expect(listed.map((s) => s.name).sort()).toEqual([blob.name, token.name]);
    expect(listed.find((s) => s.id === blob.id)).toMatchObject({ size: 4096, envSafe: false });
  });

  it("validation: a bad name is refused before any engine call", async () => {
    await expect(backend.createSecret("../etc/passwd", "x")).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message:
        '[keyhole] [docker-swarm] The secret name "../etc/passwd" is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".',
    });
  });

  it("limits.max-bytes: 512000 bytes → SECRET_TOO_LARGE before the engine; 511999 accepted", async () => {
    await expect(
      backend.createSecret(`too-large-${backend.runId}`, new Uint8Array(512_000).fill(120)),
    ).rejects.toMatchObject({
      code: "SECRET_TOO_LARGE",
      message:
        "[keyhole] [docker-swarm] The value is 512000 bytes; this backend accepts at most 511999. Store a smaller value, or a reference to it.",
    });
    expect(cli("secret", "ls", "-q", "--filter", `name=too-large-${backend.runId}`)).toBe("");
    // The declared limit is the engine's own: asked directly, it refuses 512000 bytes.
    await expect(
      docker.createSecret({
        Name: `keyhole-limit-${backend.runId}`,
        Labels: { keyhole: "true", "keyhole.run": backend.runId },
        Data: Buffer.alloc(512_000, 120).toString("base64"),
      }),
    ).rejects.toMatchObject({ statusCode: 400 });
    const largest = await backend.createSecret(
      `largest-${backend.runId}`,
      new Uint8Array(511_999).fill(121),
    );
    expect(largest.size).toBe(511_999);
    await backend.removeSecret(largest);
  });

  it("lifecycle: existing name → SECRET_EXISTS, removing twice → SECRET_NOT_FOUND", async () => {
    await expect(
      backend.createSecret(token.name, `other-${randomBytes(8).toString("hex")}`),
    ).rejects.toMatchObject({
      code: "SECRET_EXISTS",
      message: `[keyhole] [docker-swarm] The swarm already has a secret named "${token.name}". Choose another name, or remove the old secret first.`,
    });
    const once = await backend.createSecret(
      `once-${backend.runId}`,
      `once-${randomBytes(8).toString("hex")}`,
    );
    await backend.removeSecret(once);
    await expect(backend.removeSecret(once)).rejects.toMatchObject({
      code: "SECRET_NOT_FOUND",
      message: `[keyhole] [docker-swarm] The swarm has no secret named "${once.name}" (already removed?). Nothing to do; list what exists with listSecrets().`,
    });
  });

  it("lifecycle.replace: replaceSecret → UNSUPPORTED_DELIVERY, secret unchanged", async () => {
    const before = await docker.getSecret(token.id).inspect();
    await expect(
      backend.replaceSecret(token, `new-${randomBytes(8).toString("hex")}`),
    ).rejects.toMatchObject({
      code: "UNSUPPORTED_DELIVERY",
      message: `[keyhole] [docker-swarm] Swarm secrets are immutable, so "${token.name}" cannot be replaced in place. Create a new secret under a new name (e.g. "${token.name}-v2"), run the workload with it, then remove the old one.`,
    });
    expect((await docker.getSecret(token.id).inspect()).Version).toEqual(before.Version);
  });

  it("removing a secret a running workload uses → ENGINE_ERROR saying to stop it first", async () => {
    await expect(backend.removeSecret(token)).rejects.toMatchObject({
      code: "ENGINE_ERROR",
      message: expect.stringMatching(
        /^\[keyhole\] \[docker-swarm\] The secret "token-\w+" is still used by a workload \(.*\)\. Stop the workloads that use it first \(workload\.stop\(\)\), then remove it\.$/,
      ),
    });
    expect((await docker.getSecret(token.id).inspect()).ID).toBe(token.id);
  });

  it("env delivery → UNSUPPORTED_DELIVERY and nothing is created", async () => {
    const services = () =>
      cli("service", "ls", "-q", "--filter", `label=keyhole.run=${backend.runId}`);
    const before = services();
    await expect(
      backend.run({
        image,
        command: KEEPALIVE,
        secrets: [{ secret: token, as: "env", name: "TOKEN" }],
      }),
    ).rejects.toMatchObject({
      code: "UNSUPPORTED_DELIVERY",
      message:
        '[keyhole] [docker-swarm] This backend cannot deliver a secret as an environment variable (TOKEN). Deliver it as a file: { as: "file" }.',
    });
    expect(services()).toBe(before);
  });

  it("one secret twice with different owner/mode → UNSUPPORTED_DELIVERY before the engine", async () => {
    await expect(
      backend.run({
        image,
        command: KEEPALIVE,
        secrets: [
          { secret: token, as: "file", target: "a", mode: 0o400 },
          { secret: token, as: "file", target: "b", mode: 0o444 },
        ],
      }),
    ).rejects.toMatchObject({ code: "UNSUPPORTED_DELIVERY" });
  });

  it("workload ids: objectId is the service, containerId its task's container", async () => {
    const c = await docker.getContainer(w.containerId).inspect();
    expect(c.Config.Labels["com.docker.swarm.service.id"]).toBe(w.objectId);
    expect(c.Config.Labels["keyhole.run"]).toBe(backend.runId);
    // Referenced by id, so the task never asked a registry.
    expect(c.Config.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(c.HostConfig.PortBindings ?? {}).toEqual({});
    expect(w.fileTargets).toEqual(["/run/secrets/token", "/etc/app/token", "/run/secrets/blob"]);
  });

  it("file.uid-gid-mode-honoured: 2000/2000/0400 — alice reads, bob is refused", async () => {
    const st = await timed("exec", () =>
      w.exec(["stat", "-c", "%u %g %a", "/run/secrets/token", "/etc/app/token"]),
    );
    expect(st).toEqual({ exitCode: 0, stdout: "2000 2000 400\n2000 2000 400\n", stderr: "" });
    const alice = await w.exec(["cat", "/run/secrets/token"], { user: "alice" });
    expect(alice).toEqual({ exitCode: 0, stdout: tokenValue, stderr: "" });
    const outside = await w.exec(["cat", "/etc/app/token"], { user: "2000" });
    expect(outside.stdout).toBe(tokenValue);
    const bob = await w.exec(["cat", "/run/secrets/token"], { user: "bob" });
    expect(bob.exitCode).not.toBe(0);
    expect(bob.stdout).toBe("");
    expect(bob.stderr).toContain("Permission denied");
  });

  it("limits.binary-exact: a binary value arrives byte-exact", async () => {
    const r = await w.exec(["sha256sum", "/run/secrets/blob"]);
    const expected = createHash("sha256").update(blobValue).digest("hex");
    expect(r.stdout.split(/\s+/)[0]).toBe(expected);
    const st = await w.exec(["stat", "-c", "%u %g %a %s", "/run/secrets/blob"]);
    expect(st.stdout).toBe("0 0 444 4096\n"); // Swarm's defaults
  });

  it("file.capdrop-blocks-write: CAP_DAC_OVERRIDE is dropped for PID 1 and exec sessions", async () => {
    const c = await docker.getContainer(w.containerId).inspect();
    expect(c.HostConfig.CapDrop).toContain("CAP_DAC_OVERRIDE");
    const DAC_OVERRIDE = 1n << 1n;
    for (const pid of ["1", "self"]) {
      const r = await w.exec(["grep", "CapEff", `/proc/${pid}/status`]);
      const eff = BigInt(`0x${r.stdout.split(/\s+/)[1]}`);
      expect(eff & DAC_OVERRIDE).toBe(0n);
      expect(eff).not.toBe(0n); // root keeps its other capabilities
    }
  });

  it("file.delete-refused: the secret file is on a read-only mount; scrub is unsupported", async () => {
    const rm = await w.exec(["rm", "-f", "/run/secrets/token"]);
    expect(rm.exitCode).not.toBe(0);
    expect(rm.stderr).toMatch(/Read-only file system|Device or resource busy/);
    const mounts = await w.exec(["grep", "/run/secrets/token", "/proc/mounts"]);
    expect(mounts.stdout).toMatch(/^tmpfs \/run\/secrets\/token tmpfs ro[, ]/);
    await expect(w.scrub("/run/secrets/token")).rejects.toMatchObject({
      code: "UNSUPPORTED_DELIVERY",
    });
  });

  it("exec runs as another user and feeds stdin", async () => {
    expect((await w.exec(["id", "-u"], { user: "bob" })).stdout).toBe("3000\n");
    expect((await w.exec(["id", "-u"], { user: "2000:2000" })).stdout).toBe("2000\n");
    expect((await w.exec(["id", "-u"])).stdout).toBe("0\n");
    const echoed = await w.exec(["sh", "-c", "cat; echo; id -un >&2; exit 3"], {
      user: "alice",
      stdin: "from stdin",
    });
    expect(echoed).toEqual({ exitCode: 3, stdout: "from stdin\n", stderr: "alice\n" });
  });

  it("a failed run leaves nothing behind and says why", async () => {
    const other = dockerSwarmBackend();
    try {
      const s = await other.createSecret(`f-${other.runId}`, "failing-run-value");
      await expect(
        other.run({ image, command: ["/no/such/binary"], secrets: [{ secret: s, as: "file" }] }),
      ).rejects.toMatchObject({
        code: "ENGINE_ERROR",
        message: expect.stringMatching(
          /^\[keyhole\] \[docker-swarm\] The workload's task is (failed|rejected), error: .*no such file or directory/,
        ),
      });
      await expect(
        other.run({ image: "localhost/keyhole-no-such-image:0", command: KEEPALIVE }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(leftovers(other.runId).length).toBe(1); // only the secret
    } finally {
      await other.dispose();
    }
    expect(leftovers(other.runId)).toEqual([]);
  });

  it("lifecycle.cleanup: stop() removes service and container; dispose() leaves nothing", async () => {
    const b = dockerSwarmBackend();
    try {
      const s = await b.createSecret(`c-${b.runId}`, `c-${randomBytes(8).toString("hex")}`);
      const w2 = await b.run({ image, command: KEEPALIVE, secrets: [{ secret: s, as: "file" }] });
      await timed("stop (service remove → container gone)", () => w2.stop());
      await w2.stop(); // safe twice
      await expect(docker.getContainer(w2.containerId).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
      await expect(docker.getService(w2.objectId).inspect()).rejects.toMatchObject({
        statusCode: 404,
      });
      expect(leftovers(b.runId)).toHaveLength(1); // the secret
      await b.dispose();
      await b.dispose(); // safe twice
      expect(leftovers(b.runId)).toEqual([]);
    } finally {
      await swarmGc({ runId: b.runId }); // only if an assertion above failed
    }
  });

  it("swarmGc: dry run lists one run's service and secret; a real run removes them", async () => {
    const b = dockerSwarmBackend();
    try {
      const s = await b.createSecret(`gc-${b.runId}`, `gc-${randomBytes(8).toString("hex")}`);
      const w3 = await b.run({ image, command: KEEPALIVE, secrets: [{ secret: s, as: "file" }] });
      const dry = await swarmGc({ dryRun: true, runId: b.runId });
      expect(dry.removed).toBe(false);
      expect(dry.found.map((o) => [o.kind, o.id, o.runId])).toEqual([
        ["service", w3.objectId, b.runId],
        ["secret", s.id, b.runId],
      ]);
      expect(leftovers(b.runId)).toHaveLength(3); // service, secret, container
      expect((await swarmGc({ runId: b.runId })).removed).toBe(true);
      expect(leftovers(b.runId)).toEqual([]);
    } finally {
      await b.dispose(); // what gc removed already is fine to miss
    }
  });

  it("lifecycle.cleanup: SIGINT in the middle of a run leaves nothing", async () => {
    // A child process with a live backend (secret + running service) gets Ctrl-C.
    const runId = `sig${randomBytes(3).toString("hex")}`;
    const { dir, remove } = transpileForChild(runId);
    try {
      const child = spawn(process.execPath, [join(dir, "test-sigint-child.js")], {
        // Without VITEST*, so core installs its uncaught-error cleanup as in any app.
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(([k]) => !k.startsWith("VITEST")),
          ),
          KEYHOLE_TEST_RUN_ID: runId,
          KEYHOLE_TEST_IMAGE: image,
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      const exited = new Promise<NodeJS.Signals | number | null>((r) =>
        child.on("exit", (code, signal) => r(signal ?? code)),
      );
      const ready = await new Promise<string>((resolve) => {
        child.stdout.on("data", (d: Buffer) => {
          if (d.toString().includes("running")) resolve("running");
        });
        child.on("exit", () => resolve("exited early"));
      });
      expect(ready).toBe("running");
      expect(leftovers(runId)).toHaveLength(3); // service, secret, container
      child.kill("SIGINT");
      // keyhole's cleanup re-raises the signal after removing everything.
      expect(await exited).toBe("SIGINT");
      expect(leftovers(runId)).toEqual([]);
    } finally {
      remove();
      await swarmGc({ runId }); // only if the child left something
    }
  });

  it("hygiene: no value in the argv or environ of any host process", async () => {
    // The scanner does see a value where it is: a canary in a child's argv and environ.
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    const probe = new ProcScanner();
    probe.watch("canary", canary);
    const child = spawn("sh", ["-c", "sleep 30; :", canary], { env: { CANARY: canary } });
    await new Promise((r) => child.on("spawn", r));
    await probe.settle();
    child.kill();
    // sh and its sleep child both carry the environ; only sh has the canary in argv.
    expect(new Set(probe.hits().map((h) => h.where))).toEqual(new Set(["cmdline", "environ"]));

    await scan.settle();
    expect(scan.samples).toBeGreaterThan(5);
    expect(scan.hits()).toEqual([]);
  });
});
