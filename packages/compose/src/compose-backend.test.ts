import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isKeyholeError, KEYHOLE_RUN_LABEL, type SecretBackend } from "@keyhole/core";
import { ensureProbeImageInfo } from "@keyhole/probe";
import Dockerode from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ComposeBackendOptions,
  composeEnvBackend,
  composeFileBackend,
  composeGc,
  engineSetComposeOptions,
} from "./index.js";

// Real Compose v2 on the Debian 13 engine set (node scripts/setup.mjs provisions it). Oracles
// bypass the adapter: the engine's API (dockerode on the set's socket), /proc of the host, and
// the host files themselves.
const here = dirname(fileURLToPath(import.meta.url));
const SLEEP = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"];
let options: ComposeBackendOptions;
let oracle: Dockerode;
let image: string;

beforeAll(async () => {
  options = engineSetComposeOptions(); // throws ENGINE_UNAVAILABLE with the fix: no silent skip
  oracle = new Dockerode({ socketPath: options.socketPath! });
  const env = { ...process.env, DOCKER_HOST: `unix://${options.socketPath}` };
  image = (await ensureProbeImageInfo("docker", { env })).id;
});

const ofRun = (runId: string) =>
  oracle.listContainers({ all: true, filters: { label: [`${KEYHOLE_RUN_LABEL}=${runId}`] } });
const privateDirs = (b: SecretBackend) =>
  readdirSync(join(options.root!, "run/keyhole-compose")).filter((d) => d.includes(b.runId));

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (isKeyholeError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("refusals come before any engine call", () => {
  // Nothing answers here: reaching the engine would be ENGINE_UNAVAILABLE, not the refusal.
  const nowhere = { socketPath: "/nonexistent/keyhole/docker.sock", composeCli: ["false"] };

  it("env delivery is UNSUPPORTED_DELIVERY on both (Compose secrets are files)", async () => {
    for (const make of [composeFileBackend, composeEnvBackend]) {
      await using b = make(nowhere);
      const s = await b.createSecret("tok", `never-${randomBytes(8).toString("hex")}`);
      expect(
        await refusal(b.run({ image: "x", secrets: [{ secret: s, as: "env", name: "TOK" }] })),
      ).toMatch(/^UNSUPPORTED_DELIVERY: .*cannot deliver a secret as an environment variable/);
    }
  });

  it("compose-file refuses uid/gid/mode (Compose would ignore them); compose-env refuses a value it cannot carry", async () => {
    await using f = composeFileBackend(nowhere);
    const s = await f.createSecret("tok", `never-${randomBytes(8).toString("hex")}`);
    expect(
      await refusal(f.run({ image: "x", secrets: [{ secret: s, as: "file", uid: 2000 }] })),
    ).toMatch(/^UNSUPPORTED_DELIVERY: /);
    expect(
      await refusal(f.run({ image: "x", secrets: [{ secret: s, as: "file", mode: 0o400 }] })),
    ).toMatch(/^UNSUPPORTED_DELIVERY: /);
    await using e = composeEnvBackend(nowhere);
    for (const [name, value] of [
      ["nul", new Uint8Array([...randomBytes(8), 0x00, 0x62])],
      ["latin1", new Uint8Array([0xff, 0xfe, ...Buffer.from("never-latin1")])],
      ["quote", `it's-${randomBytes(8).toString("hex")}`],
    ] as const) {
      const secret = await e.createSecret(name, value);
      expect(await refusal(e.run({ image: "x", secrets: [{ secret, as: "file" }] }))).toMatch(
        /^UNSUPPORTED_DELIVERY: .*cannot be an environment: source: it (holds a NUL byte|is not valid UTF-8|holds a single quote)/,
      );
    }
  });

  it("a machine without the engine set gets ENGINE_UNAVAILABLE with the fix", () => {
    const empty = mkdtempSync(join(tmpdir(), "keyhole-compose-noset-"));
    try {
      expect(() => engineSetComposeOptions({ stateDir: empty })).toThrow(
        /No trixie engine set is described in .*Fix: node scripts\/engine-set\.mjs up/s,
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe("compose-file on Compose v2 (real engine set)", () => {
  it("binds a 0600 host copy in a 0700 private dir read-only; labels; down + removal on stop", async () => {
    await using b = composeFileBackend(options);
    const value = `file-${randomBytes(12).toString("hex")}\n`;
    const s = await b.createSecret("tok", value);
    const w = await b.run({ image, command: SLEEP, secrets: [{ secret: s, as: "file" }] });

    // The host copy (the finding): exactly one file holding the bytes, 0600, in a 0700 dir.
    const [dir] = privateDirs(b);
    const hostDir = join(options.root!, "run/keyhole-compose", dir!);
    expect(statSync(hostDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(hostDir, "s1")).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(hostDir, "s1"), "utf8")).toBe(value);

    // Inside: a read-only bind of that very file, with the host copy's owner and mode.
    const r = await w.exec([
      "sh",
      "-c",
      "stat -c '%u:%g %a' /run/secrets/tok; grep ' /run/secrets/tok ' /proc/self/mountinfo; cat /run/secrets/tok",
    ]);
    const [owner, mount] = r.stdout.split("\n");
    expect(owner).toBe("0:0 600");
    expect(mount).toMatch(
      new RegExp(`^\\S+ \\S+ \\S+ /keyhole-compose/${dir}/s1 /run/secrets/tok ro,`),
    );
    expect(r.stdout.endsWith(value)).toBe(true);

    // Every object of the project carries keyhole's labels; it made no network and no volume.
    const info = await oracle.getContainer(w.containerId).inspect();
    expect(info.Config.Labels).toMatchObject({
      keyhole: "true",
      [KEYHOLE_RUN_LABEL]: b.runId,
      "keyhole.backend": "compose-file",
      "com.docker.compose.project": dir,
    });
    expect(info.HostConfig.NetworkMode).toBe("none");
    const project = { label: [`com.docker.compose.project=${dir}`] };
    expect(await oracle.listNetworks({ filters: project })).toEqual([]);
    expect((await oracle.listVolumes({ filters: project })).Volumes ?? []).toEqual([]);

    await w.stop();
    expect(await ofRun(b.runId)).toEqual([]);
    expect(existsSync(hostDir)).toBe(false);
  });

  it("the engine itself ignores uid/gid/mode of a file: source (why compose-file declares them unsupported)", async () => {
    // Bypasses the adapter: a compose file asking for 2000:2000 0400, run by Compose directly.
    const project = `keyhole-compose-oracle-${randomBytes(4).toString("hex")}`;
    const inside = `/run/keyhole-compose/${project}`;
    const host = join(options.root!, inside);
    mkdirSync(host, { recursive: true, mode: 0o700 });
    writeFileSync(join(host, "v"), "not-a-secret", { mode: 0o640 });
    writeFileSync(
      join(host, "compose.json"),
      JSON.stringify({
        name: project,
        services: {
          w: {
            image,
            command: SLEEP,
            network_mode: "none",
            labels: { keyhole: "true", [KEYHOLE_RUN_LABEL]: project },
            secrets: [{ source: "v", target: "v", uid: "2000", gid: "2000", mode: 0o400 }],
          },
        },
        secrets: { v: { file: `${inside}/v` } },
      }),
    );
    const compose = [...options.cli!, "compose", "-p", project, "-f", `${inside}/compose.json`];
    try {
      const up = spawnSync(compose[0]!, [...compose.slice(1), "up", "-d"], { encoding: "utf8" });
      expect(up.status, up.stderr).toBe(0);
      expect(up.stderr).toContain("secrets `uid`, `gid` and `mode` are not supported");
      const [c] = await oracle.listContainers({
        filters: { label: [`com.docker.compose.project=${project}`] },
      });
      const exec = await oracle.getContainer(c!.Id).exec({
        Cmd: ["stat", "-c", "%u:%g %a", "/run/secrets/v"],
        AttachStdout: true,
      });
      const stream = await exec.start({ hijack: true, stdin: false });
      const chunks: Buffer[] = [];
      await new Promise((r) => {
        stream.on("data", (d: Buffer) => chunks.push(d));
        stream.on("end", r);
      });
      // Docker's multiplexed frames carry an 8-byte header.
      expect(Buffer.concat(chunks).subarray(8).toString().trim()).toBe("0:0 640");
    } finally {
      spawnSync(compose[0]!, [...compose.slice(1), "down", "-t", "0"]);
      rmSync(host, { recursive: true, force: true });
    }
  });
});

describe("compose-env on Compose v2 (real engine set)", () => {
  it("honours owner and mode, copies the exact text into the writable layer, and the value is in no host process and no file", async () => {
    await using b = composeEnvBackend(options);
    const value = `env-${randomBytes(12).toString("hex")}\n$HOME \\ "q" \`x\` \${Y} #c\n  `;
    const needle = Buffer.from(value.slice(0, 28));
    const s = await b.createSecret("tok", value);

    // Sample every host process's argv and environ while Compose runs (root sees them all).
    const hostPidNs = readlinkSync("/proc/self/ns/pid");
    const hits: string[] = [];
    let samples = 0;
    let fifoSeen = false;
    const scan = () => {
      samples++;
      for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
        try {
          if (readlinkSync(`/proc/${pid}/ns/pid`) !== hostPidNs) continue;
          for (const f of ["cmdline", "environ"]) {
            if (readFileSync(`/proc/${pid}/${f}`).includes(needle)) hits.push(`${pid} ${f}`);
          }
        } catch {}
      }
      for (const d of privateDirs(b)) {
        const dir = join(options.root!, "run/keyhole-compose", d);
        for (const f of existsSync(dir) ? readdirSync(dir) : []) {
          const st = statSync(join(dir, f));
          if (st.isFIFO()) fifoSeen = true;
          else if (readFileSync(join(dir, f)).includes(needle)) hits.push(`file ${f}`);
        }
      }
    };
    const timer = setInterval(scan, 20);
    let w: Awaited<ReturnType<SecretBackend["run"]>>;
    try {
      w = await b.run({
        image,
        command: SLEEP,
        secrets: [{ secret: s, as: "file", uid: 2000, gid: 2000, mode: 0o400 }],
      });
    } finally {
      clearInterval(timer);
    }
    scan();
    expect(samples).toBeGreaterThan(3);
    expect(fifoSeen).toBe(true);
    expect(hits).toEqual([]);

    const r = await w.exec([
      "sh",
      "-c",
      "stat -c '%u:%g %a' /run/secrets/tok; grep -c ' /run/secrets/tok ' /proc/self/mountinfo; sha256sum < /run/secrets/tok",
    ]);
    const [owner, mounts, sha] = r.stdout.split("\n");
    expect(owner).toBe("2000:2000 400");
    expect(mounts).toBe("0"); // a plain file of the writable layer, not a mount
    const { createHash } = await import("node:crypto");
    expect(sha?.split(" ")[0]).toBe(createHash("sha256").update(value).digest("hex"));
    const alice = await w.exec(["cat", "/run/secrets/tok"], { user: "2000" });
    expect(alice.stdout).toBe(value);
    const bob = await w.exec(["cat", "/run/secrets/tok"], { user: "3000" });
    expect(bob.exitCode).not.toBe(0);

    const [dir] = privateDirs(b);
    await b.dispose();
    expect(await ofRun(b.runId)).toEqual([]);
    expect(existsSync(join(options.root!, "run/keyhole-compose", dir!))).toBe(false);
  });
});

describe("Ctrl-C and SIGKILL", () => {
  const dist = join(here, "..", "dist", "index.js");
  const children: ReturnType<typeof spawn>[] = [];
  afterAll(() => {
    for (const c of children) c.kill("SIGKILL");
  });
  const dirsOf = (runId: string) =>
    readdirSync(join(options.root!, "run/keyhole-compose")).filter((d) => d.includes(runId));

  /** A process holding a live compose-file workload (so a host copy exists) until signalled. */
  async function startChild() {
    expect(existsSync(dist), `${dist} is missing: run npx turbo run build`).toBe(true);
    const script = [
      `import { composeFileBackend, engineSetComposeOptions } from ${JSON.stringify(dist)};`,
      "const b = composeFileBackend(engineSetComposeOptions());",
      `const s = await b.createSecret("sigint", "sigint-${randomBytes(8).toString("hex")}");`,
      `await b.run({ image: ${JSON.stringify(image)}, command: ${JSON.stringify(SLEEP)}, secrets: [{ secret: s, as: "file" }] });`,
      "console.log(JSON.stringify({ runId: b.runId }));",
      "setInterval(() => {}, 60000);",
    ].join("\n");
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    let err = "";
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString();
    });
    const runId = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout?.on("data", (c: Buffer) => {
        out += c.toString();
        const line = out.split("\n").find((l) => l.startsWith("{"));
        if (line) resolve((JSON.parse(line) as { runId: string }).runId);
      });
      child.on("exit", (code) => reject(new Error(`child exited early (${code}): ${err}`)));
    });
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    expect(await ofRun(runId)).toHaveLength(1);
    expect(dirsOf(runId)).toHaveLength(1);
    return { child, runId, exited };
  }

  it("SIGINT of a process with a running compose-file workload downs the project and removes the copy", async () => {
    const { child, runId, exited } = await startChild();
    child.kill("SIGINT");
    // keyhole's cleanup re-raises the signal after disposing, so the usual status remains.
    expect(await exited).toEqual({ code: null, signal: "SIGINT" });
    expect(await ofRun(runId)).toEqual([]);
    expect(dirsOf(runId)).toEqual([]);
  });

  it("after SIGKILL (no cleanup possible) composeGc removes the project and the private dir", async () => {
    const { child, runId, exited } = await startChild();
    child.kill("SIGKILL");
    await exited;
    expect(await ofRun(runId)).toHaveLength(1);
    const dry = await composeGc({ ...options, runId, dryRun: true });
    expect(dry.map((i) => [i.kind, i.runId, i.removed])).toEqual([
      ["project", runId, false],
      ["private dir", runId, false],
    ]);
    expect(dirsOf(runId)).toHaveLength(1);
    const gc = await composeGc({ ...options, runId });
    expect(gc.map((i) => [i.kind, i.removed])).toEqual([
      ["project", true],
      ["private dir", true],
    ]);
    expect(await ofRun(runId)).toEqual([]);
    expect(dirsOf(runId)).toEqual([]);
    expect(await composeGc({ ...options, runId })).toEqual([]);
  });
});
