import { execFileSync } from "node:child_process";
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownershipLabels, podmanEnv } from "@keyhole/core";
import { runCommand, sleep } from "./command.js";

/** Debian's docker client, which matches its dockerd; the newer client in /usr/local/bin is client-only. */
export const DOCKER = existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
/** The Podman CLI; always called with {@link podmanEnv} so the provisioned containers.conf applies. */
export const PODMAN = "podman";

/** The engine a backend runs on, for the bare-CLI halves of the benchmarks. */
export type EngineKind = "podman" | "docker" | "swarm";

/** The probe image as each engine needs to see it. */
export interface BenchImages {
  /** `localhost/keyhole-probe:<tag>` in Podman. */
  podman: string;
  /** `localhost/keyhole-probe:<tag>` in Docker. */
  docker: string;
  /** `sha256:…`: Swarm tasks try a registry pull unless the image is referenced by id. */
  dockerId: string;
}

/**
 * PID 1 of every benchmark workload, adapter and bare alike: exits at once on SIGTERM
 * (`wait` is interrupted by a trapped signal, a foreground `sleep` would not be).
 */
export const PID1 = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done"];

/** The uid/gid a benchmark file delivery is owned by, and the user that reads it (alice). */
export const READER_UID = 2000;

/** Durations (ms) of the five steps of the per-operation sequence. */
export interface StepTimes {
  create: number;
  run: number;
  exec: number;
  stop: number;
  remove: number;
}

/** The steps in the order the sequence runs them. */
export const STEPS = ["create", "run", "exec", "stop", "remove"] as const;

/** `--label k=v` pairs marking bench objects as keyhole's (so `keyhole gc` finds leftovers). */
export function labelArgs(runId: string, flag = "--label"): string[] {
  return Object.entries(ownershipLabels("bench", runId)).flatMap(([k, v]) => [flag, `${k}=${v}`]);
}

/**
 * One bare container start of the probe image, timed from the CLI's spawn to its exit:
 * `podman run --rm --network none <probe> true`, `docker run --rm --network none <probe> true`,
 * or a Swarm replicated job (`docker service create --mode replicated-job`, which returns when
 * the job completed) followed, untimed, by `docker service rm`.
 */
export async function bareStart(
  engine: EngineKind,
  images: BenchImages,
  runId: string,
  n: number,
): Promise<number> {
  if (engine === "podman") {
    const r = await runCommand(
      PODMAN,
      ["run", "--rm", "--network", "none", ...labelArgs(runId), images.podman, "true"],
      { env: podmanEnv() },
    );
    return r.ms;
  }
  if (engine === "docker") {
    const r = await runCommand(DOCKER, [
      "run",
      "--rm",
      "--network",
      "none",
      ...labelArgs(runId),
      images.docker,
      "true",
    ]);
    return r.ms;
  }
  const name = `khbench-${runId}-job${n}`;
  try {
    const r = await runCommand(
      DOCKER,
      [
        "service",
        "create",
        "-q",
        "--mode",
        "replicated-job",
        "--restart-condition",
        "none",
        "--name",
        name,
        ...labelArgs(runId),
        ...labelArgs(runId, "--container-label"),
        images.dockerId,
        "true",
      ],
      { timeoutMs: 60_000 },
    );
    const state = await runCommand(DOCKER, [
      "service",
      "ps",
      name,
      "--format",
      "{{.CurrentState}}",
    ]);
    if (!/^Complete/m.test(state.stdout)) {
      throw new Error(`swarm job ${name} did not complete: ${state.stdout.trim()}`);
    }
    return r.ms;
  } finally {
    await runCommand(DOCKER, ["service", "rm", name], { check: false });
    // A completed job's container outlives its service (Docker 20.10): remove it too.
    await removeTaskContainers(name);
  }
}

/**
 * The per-operation sequence through the bare CLI: create a secret, run a workload with one
 * file delivery (uid/gid 2000, mode 0400), `cat` it as uid 2000 in an exec session, stop and
 * remove the workload, remove the secret. Checks the value read back.
 */
export interface BareSequence {
  readonly engine: EngineKind;
  run(name: string, value: string): Promise<StepTimes>;
  /** Removes anything a failed sequence left behind (by this run's label). */
  cleanup(): Promise<void>;
  dispose(): void;
}

/** A FIFO in a private 0700 temp dir: `podman secret create NAME -` refuses a non-FIFO stdin. */
class Fifo {
  readonly dir = mkdtempSync(join(tmpdir(), "keyhole-bench-"));
  readonly path = join(this.dir, "value");
  constructor() {
    execFileSync("mkfifo", ["-m", "0600", this.path]);
  }
  /**
   * Opens both ends; the read end (non-blocking, so opening it does not wait for a writer) is
   * handed to the child as stdin, the value is written into the pipe (< 64 KiB, so it never
   * blocks) and the write end closed so the child sees EOF.
   */
  feed(value: string): { fd: number; done(): void } {
    const readFd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeFd = openSync(this.path, constants.O_WRONLY);
    writeSync(writeFd, value);
    closeSync(writeFd);
    return { fd: readFd, done: () => closeSync(readFd) };
  }
  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Podman, file driver: `podman secret create` (FIFO stdin), `podman run -d`, `exec`, `rm -f`, `secret rm`. */
export function barePodman(
  images: BenchImages,
  runId: string,
  driver: { name: string; options?: string[]; env?: NodeJS.ProcessEnv } = { name: "file" },
): BareSequence {
  const fifo = new Fifo();
  const env = driver.env ?? podmanEnv();
  const podman = (args: string[], stdin?: number) =>
    runCommand(PODMAN, args, stdin === undefined ? { env } : { env, stdin });
  return {
    engine: "podman",
    async run(name, value) {
      const t: Partial<StepTimes> = {};
      const feed = fifo.feed(value);
      try {
        const created = await podman(
          [
            "secret",
            "create",
            "--driver",
            driver.name,
            ...(driver.options ?? []),
            ...labelArgs(runId),
            name,
            "-",
          ],
          feed.fd,
        );
        t.create = created.ms;
      } finally {
        feed.done();
      }
      const started = await podman([
        "run",
        "-d",
        "--network",
        "none",
        "--stop-timeout",
        "0",
        ...labelArgs(runId),
        "--secret",
        `${name},type=mount,target=${name},uid=${READER_UID},gid=${READER_UID},mode=0400`,
        images.podman,
        ...PID1,
      ]);
      t.run = started.ms;
      const id = started.stdout.trim();
      const read = await podman([
        "exec",
        "--user",
        String(READER_UID),
        id,
        "cat",
        `/run/secrets/${name}`,
      ]);
      t.exec = read.ms;
      if (read.stdout !== value) throw new Error(`bare podman: ${name} read back wrong content`);
      t.stop = (await podman(["rm", "-f", "-t", "0", id])).ms;
      t.remove = (await podman(["secret", "rm", name])).ms;
      return t as StepTimes;
    },
    async cleanup() {
      const filter = ["--filter", `label=keyhole.run=${runId}`];
      const ids = await podman(["ps", "-aq", ...filter]);
      for (const id of ids.stdout.split("\n").filter(Boolean)) {
        await runCommand(PODMAN, ["rm", "-f", "-t", "0", id], { env, check: false });
      }
      const secrets = await runCommand(PODMAN, ["secret", "ls", "--format", "{{.Name}}"], {
        env,
        check: false,
      });
      for (const s of secrets.stdout.split("\n").filter((s) => s.startsWith(`khbench-${runId}`))) {
        await runCommand(PODMAN, ["secret", "rm", s], { env, check: false });
      }
    },
    dispose: () => fifo.dispose(),
  };
}

/**
 * Plain Docker (no secret store): `docker run -d` with a tmpfs on /run/secrets, then
 * `docker exec -i` writing the file from stdin (owner and mode set inside, as the adapter
 * does: dockerd 20.10 copies archives under a tmpfs mount onto the host's disk, moby#22020),
 * `docker exec` reading it as uid 2000, `docker rm -f`. The create/remove steps have no engine
 * work (0 ms), as in the adapter, which keeps values in memory.
 */
export function bareDocker(images: BenchImages, runId: string): BareSequence {
  return {
    engine: "docker",
    async run(name, value) {
      const started = await runCommand(DOCKER, [
        "run",
        "-d",
        "--network",
        "none",
        "--tmpfs",
        "/run/secrets:mode=0755",
        ...labelArgs(runId),
        images.docker,
        ...PID1,
      ]);
      const id = started.stdout.trim();
      const target = `/run/secrets/${name}`;
      const put = await runCommand(
        DOCKER,
        [
          "exec",
          "-i",
          id,
          "sh",
          "-c",
          'umask 077; cat > "$1"; chown "$2" "$1"; chmod "$3" "$1"',
          "sh",
          target,
          `${READER_UID}:${READER_UID}`,
          "0400",
        ],
        { stdin: Buffer.from(value) },
      );
      const read = await runCommand(DOCKER, [
        "exec",
        "--user",
        String(READER_UID),
        id,
        "cat",
        target,
      ]);
      if (read.stdout !== value) throw new Error(`bare docker: ${name} read back wrong content`);
      const stopped = await runCommand(DOCKER, ["rm", "-f", id]);
      return { create: 0, run: started.ms + put.ms, exec: read.ms, stop: stopped.ms, remove: 0 };
    },
    async cleanup() {
      const ids = await runCommand(DOCKER, ["ps", "-aq", "--filter", `label=keyhole.run=${runId}`]);
      for (const id of ids.stdout.split("\n").filter(Boolean)) {
        await runCommand(DOCKER, ["rm", "-f", id], { check: false });
      }
    },
    dispose() {},
  };
}

/**
 * Swarm: `docker secret create NAME -` (stdin), `docker service create -d` then `docker ps`
 * every 50 ms until the task's container runs, `docker exec`, `docker service rm` plus
 * `docker rm -f` of the task's container, `docker secret rm`.
 */
export function bareSwarm(images: BenchImages, runId: string): BareSequence {
  const waitFor = async (args: string[], done: (out: string) => boolean) => {
    const deadline = performance.now() + 60_000;
    for (;;) {
      const r = await runCommand(DOCKER, args);
      if (done(r.stdout.trim())) return r.stdout.trim();
      if (performance.now() > deadline)
        throw new Error(`bare swarm: gave up waiting for docker ${args.join(" ")}`);
      await sleep(50);
    }
  };
  return {
    engine: "swarm",
    async run(name, value) {
      const t: Partial<StepTimes> = {};
      t.create = (
        await runCommand(DOCKER, ["secret", "create", ...labelArgs(runId), name, "-"], {
          stdin: Buffer.from(value),
        })
      ).ms;
      let started = performance.now();
      await runCommand(DOCKER, [
        "service",
        "create",
        "-d",
        "-q",
        "--name",
        name,
        ...labelArgs(runId),
        ...labelArgs(runId, "--container-label"),
        "--restart-condition",
        "none",
        "--stop-grace-period",
        "0s",
        "--secret",
        `source=${name},target=${name},uid=${READER_UID},gid=${READER_UID},mode=0400`,
        images.dockerId,
        ...PID1,
      ]);
      const id = await waitFor(
        [
          "ps",
          "-q",
          "--filter",
          `label=com.docker.swarm.service.name=${name}`,
          "--filter",
          "status=running",
        ],
        (out) => out.length > 0,
      );
      t.run = performance.now() - started;
      const read = await runCommand(DOCKER, [
        "exec",
        "--user",
        String(READER_UID),
        id,
        "cat",
        `/run/secrets/${name}`,
      ]);
      t.exec = read.ms;
      if (read.stdout !== value) throw new Error(`bare swarm: ${name} read back wrong content`);
      started = performance.now();
      await runCommand(DOCKER, ["service", "rm", name]);
      // The agent would remove the task's container only ~2 s later; as the adapter does, remove it now.
      await runCommand(DOCKER, ["rm", "-f", id], { check: false });
      t.stop = performance.now() - started;
      t.remove = (await runCommand(DOCKER, ["secret", "rm", name])).ms;
      return t as StepTimes;
    },
    async cleanup() {
      const services = await runCommand(DOCKER, [
        "service",
        "ls",
        "-q",
        "--filter",
        `label=keyhole.run=${runId}`,
      ]);
      for (const id of services.stdout.split("\n").filter(Boolean)) {
        await runCommand(DOCKER, ["service", "rm", id], { check: false });
      }
      const containers = await runCommand(DOCKER, [
        "ps",
        "-aq",
        "--filter",
        `label=keyhole.run=${runId}`,
      ]);
      for (const id of containers.stdout.split("\n").filter(Boolean)) {
        await runCommand(DOCKER, ["rm", "-f", id], { check: false });
      }
      const secrets = await runCommand(DOCKER, [
        "secret",
        "ls",
        "-q",
        "--filter",
        `label=keyhole.run=${runId}`,
      ]);
      for (const id of secrets.stdout.split("\n").filter(Boolean)) {
        await runCommand(DOCKER, ["secret", "rm", id], { check: false });
      }
    },
    dispose() {},
  };
}

/**
 * Podman, pass driver: the same sequence with `--driver pass` and a throwaway GnuPG home,
 * passphrase-less ed25519 key and store in a private temp dir (made before timing starts, as
 * the adapter makes its own before `ready()` returns), named through the driver options
 * `root`, `key`, `gpghomedir` and in `GNUPGHOME`/`PASSWORD_STORE_DIR` of the CLI.
 */
export async function barePodmanPass(images: BenchImages, runId: string): Promise<BareSequence> {
  const dir = mkdtempSync(join(tmpdir(), "keyhole-bench-pass-"));
  const gpgHome = join(dir, "gnupg");
  const storeDir = join(dir, "store");
  execFileSync("mkdir", ["-m", "0700", gpgHome, storeDir]);
  const env = { ...podmanEnv(), GNUPGHOME: gpgHome, PASSWORD_STORE_DIR: storeDir };
  const uid = `keyhole-bench-${runId} <keyhole-bench-${runId}@keyhole.invalid>`;
  await runCommand(
    "gpg",
    ["--batch", "--passphrase", "", "--quick-gen-key", uid, "future-default", "default", "never"],
    { env },
  );
  const listed = await runCommand("gpg", ["--batch", "--with-colons", "--list-secret-keys"], {
    env,
  });
  const key = listed.stdout
    .split("\n")
    .find((l) => l.startsWith("fpr:"))
    ?.split(":")[9];
  if (!key) throw new Error("bare podman pass: gpg did not list the throwaway key");
  const inner = barePodman(images, runId, {
    name: "pass",
    options: ["--driver-opts", `root=${storeDir},key=${key},gpghomedir=${gpgHome}`],
    env,
  });
  return {
    engine: "podman",
    run: (name, value) => inner.run(name, value),
    cleanup: () => inner.cleanup(),
    dispose() {
      inner.dispose();
      try {
        execFileSync("gpgconf", ["--homedir", gpgHome, "--kill", "gpg-agent"]);
      } catch {
        // No agent was started.
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function removeTaskContainers(service: string): Promise<void> {
  const ids = await runCommand(
    DOCKER,
    ["ps", "-aq", "--filter", `label=com.docker.swarm.service.name=${service}`],
    { check: false },
  );
  for (const id of ids.stdout.split("\n").filter(Boolean)) {
    await runCommand(DOCKER, ["rm", "-f", id], { check: false });
  }
}
