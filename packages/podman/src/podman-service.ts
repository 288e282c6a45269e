import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, existsSync, rmSync } from "node:fs";
import { access, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EngineUnavailableError } from "@keyhole/core";
import { LibpodClient, PODMAN_FIX } from "./libpod-client.js";

/** Options of {@link startPodmanService}. */
export interface PodmanServiceOptions {
  /** Backend id for error messages. */
  backendId: string;
  /** The `podman` binary. */
  podmanPath: string;
  /** Where the API socket is created; its directory must exist. */
  socketPath: string;
  /** Environment of the service (`podmanEnv()`, plus GnuPG variables for the pass driver). */
  env: NodeJS.ProcessEnv;
  /** How long to wait for the socket to answer. */
  startTimeoutMs: number;
}

/** A `podman system service` child keyhole started. */
export interface PodmanService {
  readonly socketPath: string;
  readonly pid: number;
  /** Stops the service (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

// Runs the service under a tiny shell watchdog that kills it once its stdin (a pipe from
// this process) reaches EOF: that happens on dispose, and also when this process dies in a
// way no handler sees (SIGKILL, OOM), so an orphaned root API service never lingers.
// `$0`/`$1` keep the podman path and the socket URL out of the script text. A non-interactive
// shell gives background jobs /dev/null as stdin, hence the copy of stdin on fd 3.
const WATCHDOG =
  'exec 3<&0; "$0" system service --time=0 "$1" 3<&- & p=$!; { cat <&3 >/dev/null; kill $p 2>/dev/null; } & exec 3<&-; wait $p';

/**
 * Starts `podman system service --time=0 unix://<socketPath>` and waits (bounded) until the
 * API answers `_ping`.
 *
 * The child gets its own process group: a Ctrl-C in a terminal signals the whole foreground
 * group, and keyhole's cleanup still needs this service to remove containers and secrets
 * after the signal. It stops when keyhole closes its stdin (see the watchdog above), and a
 * synchronous `exit` hook closes it if the process ends without disposing.
 */
export async function startPodmanService(options: PodmanServiceOptions): Promise<PodmanService> {
  const { backendId, podmanPath, socketPath } = options;
  if (!(await isExecutable(podmanPath))) {
    throw new EngineUnavailableError(
      backendId,
      `Podman is not installed: "${podmanPath}" was not found.`,
      PODMAN_FIX,
    );
  }
  const child = spawn("/bin/sh", ["-c", WATCHDOG, podmanPath, `unix://${socketPath}`], {
    env: options.env,
    stdio: ["pipe", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2000);
  });
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: NodeJS.ErrnoException | undefined;
  child.on("error", (e) => {
    spawnError = e;
  });
  const exitPromise = new Promise<void>((resolve) => {
    child.on("exit", (code, signal) => {
      exited = { code, signal };
      live.delete(child);
      // Lets the watchdog's `cat` end too.
      child.stdin?.destroy();
      resolve();
    });
    // An ENOENT spawn error never emits "exit".
    child.on("error", () => resolve());
  });
  child.unref();
  // Neither pipe may keep this process alive; the exit hook and dispose close them.
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  live.add(child);
  installExitHook();

  const stop = once(async () => {
    if (exited || spawnError) return;
    child.stdin?.end();
    // The whole group (watchdog, podman, cat) if podman ignores its TERM for 10 s.
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 10_000);
    await exitPromise;
    clearTimeout(timer);
  });

  const client = new LibpodClient(socketPath, backendId);
  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (spawnError) {
      live.delete(child);
      throw new EngineUnavailableError(
        backendId,
        spawnError.code === "ENOENT"
          ? `Podman is not installed: "${podmanPath}" was not found.`
          : `Podman could not be started (${spawnError.message}).`,
        PODMAN_FIX,
        { cause: spawnError },
      );
    }
    if (exited) {
      throw new EngineUnavailableError(
        backendId,
        `The Podman API service exited right after start (${exited.signal ?? `exit code ${exited.code}`}): ${lastLines(stderr)}.`,
        PODMAN_FIX,
      );
    }
    if (existsSync(socketPath)) {
      try {
        const res = await client.request("GET", "/_ping");
        if (res.status === 200) break;
      } catch {
        // Socket file exists but is not accepting yet.
      }
    }
    if (Date.now() > deadline) {
      await stop();
      throw new EngineUnavailableError(
        backendId,
        `The Podman API service did not answer on unix://${socketPath} within ${options.startTimeoutMs} ms: ${lastLines(stderr) || "no output"}.`,
        PODMAN_FIX,
      );
    }
    await sleep(50);
  }
  if (!child.pid) throw new Error("unreachable: a started service has a pid");
  return { socketPath, pid: child.pid, stop };
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const child of live) killGroup(child, "SIGTERM");
    // A process that exits without disposing its backends leaves no shared service directory.
    for (const dir of sharedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** Whether `binary` resolves to an executable (a path, or a name on PATH). */
async function isExecutable(binary: string): Promise<boolean> {
  const candidates = binary.includes("/")
    ? [binary]
    : (process.env.PATH ?? "")
        .split(":")
        .filter(Boolean)
        .map((dir) => join(dir, binary));
  for (const c of candidates) {
    try {
      await access(c, constants.X_OK);
      return true;
    } catch {
      // Try the next one.
    }
  }
  return false;
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).join(" | ");
}

/**
 * Wraps an async function so that it runs once; later calls share the first promise. A
 * failed run is forgotten, so a later call (a second `dispose()`) tries again.
 */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= fn().catch((error: unknown) => {
      p = undefined;
      throw error;
    });
    return p;
  };
}

/** A reference to the process-wide API service of {@link acquireSharedService}. */
export interface SharedServiceLease {
  readonly socketPath: string;
  /** Drops this reference; the last one stops the service and removes its directory. */
  release(): Promise<void>;
}

interface SharedService {
  refs: number;
  started: Promise<PodmanService>;
}

const sharedPaths = new Map<string, string>();
const sharedServices = new Map<string, SharedService>();
/** Directories of shared services this process created and has not removed yet. */
const sharedDirs = new Set<string>();
/** Services being stopped by their last release, by socket path (a new start waits for it). */
const sharedStopping = new Map<string, Promise<void>>();
const processTag = randomBytes(4).toString("hex");

/**
 * The socket path of the process-wide API service for `podmanPath` with this `CONTAINERS_CONF`:
 * `<tmp>/keyhole-podman-svc-<process tag>-<n>/podman.sock`, the same for every backend of the
 * process that asks with the same key (so a `keyhole compare` of podman-file and podman-pass
 * starts one service, not two). Nothing is created until {@link acquireSharedService}.
 */
export function sharedSocketPath(podmanPath: string, containersConf: string | undefined): string {
  const key = JSON.stringify([podmanPath, containersConf ?? null]);
  let path = sharedPaths.get(key);
  if (!path) {
    path = join(tmpdir(), `${SHARED_DIR_PREFIX}${processTag}-${sharedPaths.size}`, "podman.sock");
    sharedPaths.set(key, path);
  }
  return path;
}

/** Name prefix of the shared services' directories (gc removes dead ones). */
export const SHARED_DIR_PREFIX = "keyhole-podman-svc-";

/**
 * Takes a reference to the shared service at `options.socketPath` (from
 * {@link sharedSocketPath}), starting it (in a fresh 0700 directory) if no one holds it. The
 * last {@link SharedServiceLease.release} stops it and removes the directory; a later acquire
 * starts a new one at the same path.
 */
export async function acquireSharedService(
  options: PodmanServiceOptions,
): Promise<SharedServiceLease> {
  const { socketPath } = options;
  let entry = sharedServices.get(socketPath);
  if (!entry) {
    const dir = dirname(socketPath);
    const previous = sharedStopping.get(socketPath);
    const started = (async () => {
      await previous;
      // Not recursive: an existing directory of this name is not ours, so fail rather than use it.
      await mkdir(dir, { mode: 0o700 });
      sharedDirs.add(dir);
      try {
        return await startPodmanService(options);
      } catch (error) {
        await rm(dir, { recursive: true, force: true });
        sharedDirs.delete(dir);
        throw error;
      }
    })();
    entry = { refs: 0, started };
    sharedServices.set(socketPath, entry);
    started.catch(() => {
      if (sharedServices.get(socketPath) === entry) sharedServices.delete(socketPath);
    });
  }
  const held = entry;
  held.refs++;
  try {
    await held.started;
  } catch (error) {
    held.refs--;
    throw error;
  }
  const release = once(async () => {
    held.refs--;
    if (held.refs > 0) return;
    if (sharedServices.get(socketPath) === held) sharedServices.delete(socketPath);
    const stopping = (async () => {
      const service = await held.started;
      await service.stop();
      await rm(dirname(socketPath), { recursive: true, force: true });
      sharedDirs.delete(dirname(socketPath));
    })();
    sharedStopping.set(socketPath, stopping);
    try {
      await stopping;
    } finally {
      if (sharedStopping.get(socketPath) === stopping) sharedStopping.delete(socketPath);
    }
  });
  return { socketPath, release };
}
