import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcScanner } from "@keyhole/conformance";
import {
  isKeyholeError,
  KEYHOLE_RUN_LABEL,
  type SecretBackend,
  type SecretHandle,
  type Workload,
} from "@keyhole/core";
import { ensureProbeImage } from "@keyhole/probe";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dockerBackend, dockerGc, MAX_ENV_STRING_BYTES } from "./index.js";
import { resolveLocalEndpoint } from "./testcontainers-client.js";

const { socketPath, endpoint } = resolveLocalEndpoint("docker", undefined);
// The oracle: talks to the engine directly, bypassing the adapter.
const oracle = new Dockerode({ socketPath });
const LOOP = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];

/** Containers (any state) carrying keyhole's run label `runId`, straight from the engine. */
async function containersOfRun(runId: string) {
  return oracle.listContainers({
    all: true,
    filters: { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] },
  });
}

/** The rejection of `promise`, asserted to be a keyhole error with `code`. */
async function rejection(promise: Promise<unknown>, code: string) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isKeyholeError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
  return (error as Error).message;
}

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

let image: string;
beforeAll(async () => {
  image = await ensureProbeImage("docker");
});

describe("validation happens before any engine call", () => {
  let backend: SecretBackend;
  let handle: SecretHandle;
  beforeAll(async () => {
    backend = dockerBackend();
    handle = await backend.createSecret("valid", "v4lue-for-validation");
  });
  afterAll(async () => {
    await backend.dispose();
  });

  it("rejects bad names and values with the exact text", async () => {
    expect(await rejection(backend.createSecret("", "x"), "INVALID_INPUT")).toBe(
      '[keyhole] [docker] A secret name must not be empty. Use e.g. "db-password".',
    );
    expect(await rejection(backend.createSecret("a/b", "x"), "INVALID_INPUT")).toBe(
      '[keyhole] [docker] The secret name "a/b" is not allowed. Use letters, digits, "_", "." and "-", starting with a letter or digit, without "..".',
    );
    expect(await rejection(backend.createSecret("empty", ""), "INVALID_INPUT")).toBe(
      "[keyhole] [docker] A secret value must not be empty. Pass at least one byte.",
    );
    expect(
      await rejection(backend.createSecret("num", 42 as unknown as string), "INVALID_INPUT"),
    ).toBe(
      '[keyhole] [docker] A secret value must be a string or a Uint8Array, got a number. Pass the value itself, e.g. createSecret("db", "…").',
    );
    expect(
      await rejection(
        backend.createSecret("big", new Uint8Array(1024 * 1024 + 1)),
        "SECRET_TOO_LARGE",
      ),
    ).toBe(
      "[keyhole] [docker] The value is 1048577 bytes; this backend accepts at most 1048576. Store a smaller value, or a reference to it.",
    );
  });

  it("refuses a duplicate name and an unknown secret", async () => {
    expect(await rejection(backend.createSecret("valid", "other"), "SECRET_EXISTS")).toBe(
      '[keyhole] [docker] A secret named "valid" already exists in this backend instance. Choose another name, or change its value with replaceSecret().',
    );
    const ghost = { ...handle, name: "ghost", id: "ghost" };
    expect(await rejection(backend.removeSecret(ghost), "SECRET_NOT_FOUND")).toBe(
      '[keyhole] [docker] This backend instance has no secret named "ghost" (removed, disposed, or created by another instance: docker secrets live only in the memory of the instance that created them). Create it with createSecret().',
    );
    const other = dockerBackend();
    const foreign = await other.createSecret("foreign", "f0reign-value");
    await other.dispose();
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: foreign, as: "file" }] }),
        "SECRET_NOT_FOUND",
      ),
    ).toContain('no secret named "foreign"');
  });

  it("refuses deliveries the kernel or the API cannot carry", async () => {
    const nul = await backend.createSecret("nul", new Uint8Array([0x61, 0, 0x62]));
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: nul, as: "env", name: "NUL" }] }),
        "INVALID_INPUT",
      ),
    ).toBe(
      '[keyhole] [docker] The secret "nul" contains a NUL byte, which an environment variable cannot carry (NUL). Deliver it as a file.',
    );
    const latin1 = await backend.createSecret("latin1", new Uint8Array([0xe9, 0x74, 0xe9]));
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: latin1, as: "env", name: "L" }] }),
        "INVALID_INPUT",
      ),
    ).toBe(
      '[keyhole] [docker] The secret "latin1" is not valid UTF-8, which the Docker API (JSON) cannot carry as the environment variable L. Deliver it as a file.',
    );
    const huge = await backend.createSecret("huge", "x".repeat(MAX_ENV_STRING_BYTES));
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: huge, as: "env", name: "HUGE" }] }),
        "SECRET_TOO_LARGE",
      ),
    ).toBe(
      '[keyhole] [docker] The secret "huge" is 131072 bytes; as HUGE=… it takes 131078 bytes, over Linux\'s 131072-byte limit for one environment variable (MAX_ARG_STRLEN). Deliver it as a file.',
    );
  });

  it("refuses bad file options and targets", async () => {
    const mode = "0400" as unknown as number;
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: handle, as: "file", mode }] }),
        "INVALID_INPUT",
      ),
    ).toBe(
      '[keyhole] [docker] The mode must be a number, got a string "0400". Write an octal literal, e.g. mode: 0o400.',
    );
    expect(
      await rejection(
        backend.run({ image, secrets: [{ secret: handle, as: "file", target: "/etc/x" }] }),
        "INVALID_INPUT",
      ),
    ).toBe(
      '[keyhole] [docker] The file target "/etc/x" is outside /run/secrets. Use a path under /run/secrets/, or set allowTargetOutsideSecretsDir: true on the run.',
    );
    expect(
      await rejection(
        backend.run({
          image,
          allowTargetOutsideSecretsDir: true,
          secrets: [{ secret: handle, as: "file", target: "/etc/x" }],
        }),
        "UNSUPPORTED_DELIVERY",
      ),
    ).toBe(
      '[keyhole] [docker] This backend can only place secrets under /run/secrets; "/etc/x" is outside. Use a target under /run/secrets/.',
    );
    expect(
      await rejection(
        backend.run({
          image,
          command: LOOP,
          secrets: [
            { secret: handle, as: "file", target: "a" },
            { secret: handle, as: "file", target: "a/b" },
          ],
        }),
        "INVALID_INPUT",
      ),
    ).toBe(
      "[keyhole] [docker] The file target /run/secrets/a/b is inside another delivery's file /run/secrets/a. Give each a path of its own, e.g. /run/secrets/a-2.",
    );
  });

  it("refuses a file owner it cannot set when CAP_CHOWN is dropped", async () => {
    expect(
      await rejection(
        backend.run({
          image,
          command: LOOP,
          capDrop: ["ALL"],
          secrets: [{ secret: handle, as: "file", uid: 2000 }],
        }),
        "UNSUPPORTED_DELIVERY",
      ),
    ).toBe(
      "[keyhole] [docker] This backend sets a file's owner from inside the container, which needs CAP_CHOWN, but the run drops it (/run/secrets/valid is for 2000:0). Keep CHOWN (drop the other capabilities by name), or deliver the file as uid/gid 0.",
    );
  });

  it("never pulls: a missing image is refused", async () => {
    const missing = `localhost/keyhole-missing:${randomBytes(4).toString("hex")}`;
    expect(await rejection(backend.run({ image: missing }), "INVALID_INPUT")).toBe(
      `[keyhole] [docker] The image "${missing}" is not in the engine at ${endpoint}, and keyhole never pulls. Load it first, e.g. \`await ensureProbeImage("docker")\` from @keyhole/probe, or \`docker load\`.`,
    );
  });

  it("created nothing on the engine while refusing", async () => {
    expect(await containersOfRun(backend.runId)).toEqual([]);
  });
});

describe("an engine that does not answer", () => {
  it("is ENGINE_UNAVAILABLE with the command that fixes it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "keyhole-docker-"));
    try {
      const backend = dockerBackend({ socketPath: join(dir, "nothing.sock") });
      const message = await rejection(backend.ready(), "ENGINE_UNAVAILABLE");
      expect(message).toBe(
        `[keyhole] [docker] No Docker engine answers on unix://${dir}/nothing.sock (ENOENT) while trying to answer a version request. Fix: node scripts/setup.mjs`,
      );
      const error = await backend.ready().then(
        () => undefined,
        (e: unknown) => e as { fix?: string },
      );
      expect(error?.fix).toBe("node scripts/setup.mjs");
      const secret = await backend.createSecret("s", "unreachable-value");
      await rejection(
        backend.run({ image: "localhost/x:1", secrets: [{ secret, as: "file" }] }),
        "ENGINE_UNAVAILABLE",
      );
      await backend.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("one workload with env and file deliveries", () => {
  const token = `tok-${randomBytes(12).toString("hex")}`;
  const password = `pw-${randomBytes(12).toString("hex")}\n`;
  const blob = new Uint8Array(randomBytes(4096));
  blob[0] = 0;
  blob[100] = 0xff;
  // Conformance's host-process scanner samples argv and environ while this block runs.
  const scan = new ProcScanner();
  scan.watch("token", token);
  scan.watch("password", password.trim());
  scan.watch("blob", blob);
  let backend: SecretBackend;
  let w: Workload;

  beforeAll(async () => {
    scan.start(25);
    backend = dockerBackend();
    const t = await backend.createSecret("api-token", token);
    const p = await backend.createSecret("db-password", password);
    const b = await backend.createSecret("blob", blob);
    const s = await backend.createSecret("scratch", `scratch-${token}`);
    w = await backend.run({
      image,
      command: LOOP,
      env: { PLAIN: "plain-value" },
      capDrop: ["DAC_OVERRIDE"],
      secrets: [
        { secret: t, as: "env", name: "API_TOKEN" },
        { secret: p, as: "file", uid: 2000, gid: 2000, mode: 0o400 },
        { secret: b, as: "file", target: "bin/blob" },
        { secret: s, as: "file", target: "scratch", mode: 0o644, scrub: true },
      ],
    });
  });
  afterAll(async () => {
    await scan.stop();
    await backend?.dispose();
  });

  it("labels the container and runs it without network and with stop timeout 0", async () => {
    const info = await oracle.getContainer(w.containerId).inspect();
    expect(info.Config.Labels).toMatchObject({
      keyhole: "true",
      "keyhole.run": backend.runId,
      "keyhole.backend": "docker",
    });
    expect(info.HostConfig.NetworkMode).toBe("none");
    expect((info.Config as { StopTimeout?: number }).StopTimeout).toBe(0);
    expect(info.HostConfig.CapDrop).toEqual(["DAC_OVERRIDE"]);
    expect(w.fileTargets).toEqual([
      "/run/secrets/db-password",
      "/run/secrets/bin/blob",
      "/run/secrets/scratch",
    ]);
  });

  it("env.child-inherits: a child process sees the variable", async () => {
    const r = await w.exec(["sh", "-c", 'sh -c "printf %s \\"\\$API_TOKEN\\""']);
    expect(r).toMatchObject({ exitCode: 0, stdout: token });
    const pid1 = await w.exec(["cat", "/proc/1/environ"]);
    expect(pid1.stdout.split("\0")).toContain(`API_TOKEN=${token}`);
  });

  it("env.engine-inspect-shows: the value is in the engine's inspect output (a finding)", async () => {
    const info = await oracle.getContainer(w.containerId).inspect();
    expect(info.Config.Env).toContain(`API_TOKEN=${token}`);
  });

  it("PID 1 is the workload's own command, not the delivery gate", async () => {
    const r = await w.exec(["cat", "/proc/1/cmdline"]);
    expect(r.stdout.split("\0").slice(0, 3)).toEqual(LOOP);
  });

  it("file.uid-gid-mode-honoured: 2000/2000/0400, alice reads, bob is refused", async () => {
    const st = await w.exec(["stat", "-c", "%u %g %a %s", "/run/secrets/db-password"]);
    expect(st.stdout.trim()).toBe(`2000 2000 400 ${password.length}`);
    expect(await w.exec(["cat", "/run/secrets/db-password"], { user: "alice" })).toMatchObject({
      exitCode: 0,
      stdout: password,
    });
    const bob = await w.exec(["cat", "/run/secrets/db-password"], { user: "bob" });
    expect(bob.exitCode).not.toBe(0);
    expect(bob.stderr).toContain("Permission denied");
  });

  it("limits.binary-exact: a value with NUL and 0xff arrives byte-exact, default 0:0 0444", async () => {
    const r = await w.exec(["sha256sum", "/run/secrets/bin/blob"]);
    expect(r.stdout.split(/\s+/)[0]).toBe(sha256(blob));
    const st = await w.exec(["stat", "-c", "%u %g %a %s", "/run/secrets/bin/blob"]);
    expect(st.stdout.trim()).toBe("0 0 444 4096");
  });

  it("files live on a tmpfs, never in the container's layer on the host disk", async () => {
    const mounts = await w.exec(["cat", "/proc/mounts"]);
    expect(mounts.stdout).toMatch(/^tmpfs \/run\/secrets tmpfs /m);
    const info = await oracle.getContainer(w.containerId).inspect();
    const upper = (info.GraphDriver?.Data as { UpperDir?: string } | undefined)?.UpperDir;
    // Only readable when this test runs on the engine's own host as root (the case here).
    if (upper && statSync(upper, { throwIfNoEntry: false })) {
      const needles = [Buffer.from(password.trim()), Buffer.from(blob.subarray(1, 64))];
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : [],
        );
      const leaked = walk(upper).filter((f) => {
        const data = readFileSync(f);
        return needles.some((n) => data.includes(n));
      });
      expect(leaked).toEqual([]);
    }
  });

  it("file.capdrop-blocks-write: without CAP_DAC_OVERRIDE root cannot write alice's 0400 file", async () => {
    const caps = await w.exec(["grep", "CapEff", "/proc/1/status"]);
    const eff = BigInt(`0x${caps.stdout.trim().split(/\s+/)[1]}`);
    expect(eff & (1n << 1n)).toBe(0n); // CAP_DAC_OVERRIDE is capability 1
    const write = await w.exec(["sh", "-c", "echo x >> /run/secrets/db-password"]);
    expect(write.exitCode).not.toBe(0);
    expect(write.stderr).toContain("Permission denied");
  });

  it("exec runs as another user and feeds stdin", async () => {
    expect((await w.exec(["id", "-u"])).stdout.trim()).toBe("0");
    expect((await w.exec(["id", "-u"], { user: "bob" })).stdout.trim()).toBe("3000");
    const ids = await w.exec(["sh", "-c", 'echo "$(id -u):$(id -g)"'], { user: "2000:2000" });
    expect(ids.stdout.trim()).toBe("2000:2000");
    const r = await w.exec(["sh", "-c", "wc -c; echo $EXTRA"], {
      stdin: new Uint8Array([1, 0, 2]),
      env: { EXTRA: "e" },
    });
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(["3", "e"]);
  });

  it("file.scrub-after-use: scrub zeros and truncates; later readers get nothing", async () => {
    await w.scrub("scratch");
    const r = await w.exec([
      "sh",
      "-c",
      "wc -c < /run/secrets/scratch; stat -c %a /run/secrets/scratch",
    ]);
    expect(r.stdout.split(/\s+/).filter(Boolean)).toEqual(["0", "644"]);
    expect(await rejection(w.scrub("db-password"), "INVALID_INPUT")).toBe(
      '[keyhole] [docker] /run/secrets/db-password was not delivered with scrub: true in this run. Deliver it with { as: "file", scrub: true } to scrub it after use.',
    );
  });

  it("hygiene: no value in the argv or environ of any host process", async () => {
    await scan.settle();
    expect(scan.samples).toBeGreaterThan(0);
    expect(scan.hits()).toEqual([]);
    // The scanner does see a value where it is: a canary in a child's argv and environ.
    const canary = `canary-${randomBytes(8).toString("hex")}`;
    const probe = new ProcScanner();
    probe.watch("canary", canary);
    const child = spawn("sh", ["-c", "sleep 30; :", canary], { env: { CANARY: canary } });
    try {
      await new Promise((r) => child.on("spawn", r));
      await probe.settle();
      // A set: `sh`'s own `sleep` child inherits CANARY too, when it was forked before the scan.
      expect(new Set(probe.hits().map((h) => h.where))).toEqual(new Set(["cmdline", "environ"]));
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("lifecycle", () => {
  it("a failed run leaves nothing behind", async () => {
    const backend = dockerBackend();
    try {
      const s = await backend.createSecret("s", `fail-${randomBytes(8).toString("hex")}`);
      // The engine fails the start (no such executable); testcontainers leaves it created.
      const noExe = await rejection(
        backend.run({ image, command: ["/keyhole-no-such-binary"] }),
        "ENGINE_ERROR",
      );
      expect(noExe).toContain("/keyhole-no-such-binary");
      // With a file delivery the gate starts, but as a user the image does not have.
      await rejection(
        backend.run({
          image,
          command: LOOP,
          user: "nosuchuser",
          secrets: [{ secret: s, as: "file" }],
        }),
        "ENGINE_ERROR",
      );
      expect(await containersOfRun(backend.runId)).toEqual([]);
    } finally {
      await backend.dispose();
    }
  });

  it("lifecycle.replace + lifecycle.cleanup: a replaced value reaches later runs; dispose leaves nothing", async () => {
    const backend = dockerBackend();
    const first = await backend.createSecret("rotating", "first-value-1234");
    const second = await backend.replaceSecret(first, "second-value-567890");
    expect(second).toMatchObject({ name: "rotating", size: 19 });
    expect(await backend.listSecrets()).toEqual([second]);
    const w = await backend.run({
      image,
      command: LOOP,
      secrets: [
        { secret: second, as: "env", name: "ROT" },
        { secret: second, as: "file" },
      ],
    });
    const r = await w.exec(["sh", "-c", 'printf %s "$ROT"; cat /run/secrets/rotating']);
    expect(r.stdout).toBe("second-value-567890second-value-567890");
    expect((await containersOfRun(backend.runId)).map((c) => c.Id)).toEqual([w.containerId]);
    await backend.dispose();
    expect(await containersOfRun(backend.runId)).toEqual([]);
    expect(await backend.listSecrets()).toEqual([]);
    await backend.dispose(); // safe twice
    await w.stop(); // and a workload stop after dispose
  });

  it("dockerGc removes keyhole containers of one run (dry run first)", async () => {
    const runId = `gc-${randomBytes(4).toString("hex")}`;
    // A leftover as a crashed process would leave it: created, labelled, never started.
    const leftover = await oracle.createContainer({
      Image: image,
      Cmd: ["true"],
      Labels: { keyhole: "true", "keyhole.run": runId, "keyhole.backend": "docker" },
      HostConfig: { NetworkMode: "none" },
    });
    const dry = await dockerGc({ dryRun: true, runId });
    expect(dry).toMatchObject({ endpoint, removed: false });
    expect(dry.found.map((c) => [c.id, c.runId, c.backendId, c.state])).toEqual([
      [leftover.id, runId, "docker", "created"],
    ]);
    expect(await containersOfRun(runId)).toHaveLength(1);
    const real = await dockerGc({ runId });
    expect(real.removed).toBe(true);
    expect(await containersOfRun(runId)).toEqual([]);
  });
});
