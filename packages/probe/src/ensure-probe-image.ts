import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EngineError, EngineUnavailableError, keyholeStateDir, podmanEnv } from "@keyhole/core";
import { runEngineCommand } from "./engine-command.js";
import { buildProbeArchive, type ProbeArchive } from "./probe-archive.js";

/** The engines the probe image can be loaded into. */
export type ProbeEngine = "podman" | "docker";

/** Options for {@link ensureProbeImage}. */
export interface EnsureProbeImageOptions {
  /**
   * The engine CLI to run. Default `podman`; for Docker `/usr/bin/docker` when present
   * (Debian's client, matching its dockerd), else `docker` from `PATH`.
   */
  binary?: string;
  /**
   * Global arguments put before every engine subcommand, e.g. `["-H", "unix:///other.sock"]`
   * for another Docker daemon or `["--root", dir, "--runroot", dir2]` for other Podman storage.
   * Default none.
   */
  globalArgs?: readonly string[];
  /** Path of a statically linked busybox. Default `/bin/busybox` (Debian's `busybox-static`). */
  busybox?: string;
  /**
   * Environment of the engine CLI. Default: `podmanEnv()` from `@keyhole/core` for Podman
   * (so the provisioned `containers.conf` applies), `process.env` for Docker (`DOCKER_HOST`).
   */
  env?: NodeJS.ProcessEnv;
}

/** The probe image as loaded into one engine. */
export interface ProbeImage {
  engine: ProbeEngine;
  /** `localhost/keyhole-probe:<content tag>`. */
  reference: string;
  /** `sha256:<config digest>`, identical in every engine; reference a Swarm service by it. */
  id: string;
}

const inFlight = new Map<string, Promise<ProbeImage>>();
const archives = new Map<string, ProbeArchive>();

/**
 * Makes sure the probe image exists in `engine` and returns its reference,
 * `localhost/keyhole-probe:<content tag>`. Loads it (no registry involved) only when the tag
 * is missing or points at other content. Concurrent calls in one process share one load;
 * concurrent processes are safe because a load of the same archive is idempotent.
 *
 * Throws `ENGINE_UNAVAILABLE` (with the fix command) when the engine CLI, its daemon or a
 * static busybox is missing, `ENGINE_ERROR` when the engine refuses the image.
 *
 * @example
 * ```ts
 * const image = await ensureProbeImage("podman"); // "localhost/keyhole-probe:3f9c0a1b2c3d"
 * ```
 */
export async function ensureProbeImage(
  engine: ProbeEngine,
  options: EnsureProbeImageOptions = {},
): Promise<string> {
  return (await ensureProbeImageInfo(engine, options)).reference;
}

/**
 * Like {@link ensureProbeImage}, but returns the image id as well, for engines that must
 * reference a local image by id (Swarm services try a registry pull for a name).
 *
 * @example
 * ```ts
 * const { id } = await ensureProbeImageInfo("docker"); // "sha256:…"
 * ```
 */
export function ensureProbeImageInfo(
  engine: ProbeEngine,
  options: EnsureProbeImageOptions = {},
): Promise<ProbeImage> {
  const binary = options.binary ?? defaultBinary(engine);
  const key = JSON.stringify([
    engine,
    binary,
    options.globalArgs ?? [],
    options.busybox ?? "",
    // The variables that pick the engine: two engines of one kind (the host's dockerd and an
    // engine set's) loaded at once must not share one answer.
    options.env
      ? ["DOCKER_HOST", "CONTAINER_HOST", "CONTAINERS_CONF"].map((k) => options.env?.[k] ?? "")
      : "",
  ]);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = load(engine, binary, options);
    inFlight.set(key, pending);
    // A failure is not cached: the next call retries (e.g. after dockerd was started).
    pending.catch(() => inFlight.delete(key));
  }
  return pending;
}

async function load(
  engine: ProbeEngine,
  binary: string,
  options: EnsureProbeImageOptions,
): Promise<ProbeImage> {
  const built = archiveFor(options.busybox);
  const env = options.env ?? (engine === "podman" ? podmanEnv() : process.env);
  const fix = installFix(engine);
  const global = options.globalArgs ?? [];
  const run = (args: string[]) => runEngineCommand(engine, binary, [...global, ...args], env, fix);
  const image: ProbeImage = { engine, reference: built.reference, id: built.id };

  if ((await inspectId(engine, run)) === built.id) return image;

  const file = writeArchive(built);
  const loaded = await run(["load", "-q", "-i", file]);
  if (loaded.code !== 0) {
    throw new EngineError(
      engine,
      `${engine} load of the probe image failed: ${loaded.stderr.trim()}`,
    );
  }
  const id = await inspectId(engine, run);
  if (id !== built.id) {
    throw new EngineError(
      engine,
      `After loading, ${built.reference} has id ${id ?? "(none)"} instead of ${built.id}. Remove the image and retry.`,
    );
  }
  return image;

  async function inspectId(
    name: ProbeEngine,
    exec: (args: string[]) => ReturnType<typeof runEngineCommand>,
  ): Promise<string | undefined> {
    const r = await exec(["image", "inspect", "--format", "{{.Id}}", built.reference]);
    if (r.code === 0) {
      const raw = r.stdout.trim();
      return raw.startsWith("sha256:") ? raw : `sha256:${raw}`;
    }
    if (/no such image|image not known|not found/i.test(r.stderr)) return undefined;
    if (
      /cannot connect|is the docker daemon running|connection refused|no such file/i.test(r.stderr)
    ) {
      throw new EngineUnavailableError(
        name,
        `The ${name} engine does not answer: ${r.stderr.trim()}`,
        "node scripts/setup.mjs",
      );
    }
    throw new EngineError(name, `${name} image inspect failed: ${r.stderr.trim()}`);
  }
}

function archiveFor(busybox: string | undefined): ProbeArchive {
  const key = busybox ?? "";
  let built = archives.get(key);
  if (!built) {
    built = buildProbeArchive(busybox ? { busybox } : {});
    archives.set(key, built);
  }
  return built;
}

/** Writes the archive under the state dir once; a unique temp name + rename keeps racing processes safe. */
function writeArchive(built: ProbeArchive): string {
  const dir = join(keyholeStateDir(), "probe");
  const file = join(dir, `keyhole-probe-${built.tag}.tar`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, built.archive);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
  return file;
}

function defaultBinary(engine: ProbeEngine): string {
  if (engine === "docker") return existsSync("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  return "podman";
}

function installFix(engine: ProbeEngine): string {
  return engine === "podman"
    ? "sudo apt-get install -y podman runc"
    : "sudo apt-get install -y docker.io";
}
