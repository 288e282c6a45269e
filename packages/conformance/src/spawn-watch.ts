import childProcess, { ChildProcess } from "node:child_process";
import { syncBuiltinESMExports } from "node:module";

/** A process this Node process started, as seen at the moment it was spawned. */
export interface SpawnRecord {
  /** Its pid (undefined when the spawn failed before a process existed). */
  pid: number | undefined;
  /** The executable, as given to spawn (`podman`, `/bin/sh`). */
  file: string;
  /** Its full argv, argv[0] included. */
  argv: readonly string[];
  /** Its environment as `KEY=value` strings. */
  envPairs: readonly string[];
}

type Listener = (record: SpawnRecord) => void;

const listeners = new Set<Listener>();
let restore: (() => void) | undefined;

/**
 * Calls `listener` with the argv and environment of every process this Node process starts
 * (`spawn`, `execFile`, `exec`, `fork` always; the `*Sync` variants when called through the
 * module, ESM named imports included, not through a reference taken before the watch began),
 * until the returned function is called. Sampling `/proc` misses processes that live shorter
 * than a sample takes (over a second with ~600 processes on a loaded host); a backend that
 * drives an engine CLI starts exactly such processes, so the suite looks at them as they are
 * made. Processes those children start in turn are not seen here, only by sampling.
 *
 * Installed while at least one listener is registered; the original functions are restored
 * when the last one goes.
 */
export function watchSpawns(listener: Listener): () => void {
  listeners.add(listener);
  restore ??= install();
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && restore) {
      restore();
      restore = undefined;
    }
  };
}

function emit(record: SpawnRecord): void {
  for (const l of listeners) {
    try {
      l(record);
    } catch {
      // A listener's bug must never break the backend's own process start.
    }
  }
}

function pairs(env: NodeJS.ProcessEnv | undefined): string[] {
  return Object.entries(env ?? process.env)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${v}`);
}

interface InternalSpawnOptions {
  file: string;
  args: string[];
  envPairs?: string[];
}

type SyncName = "spawnSync" | "execFileSync" | "execSync";

function install(): () => void {
  // Every asynchronous start (spawn, execFile, exec, fork) goes through ChildProcess#spawn with
  // normalised options: the file, the full argv and the environment as KEY=value pairs.
  const proto = ChildProcess.prototype as unknown as {
    spawn(this: ChildProcess, options: InternalSpawnOptions): unknown;
  };
  const original = proto.spawn;
  proto.spawn = function (this: ChildProcess, options: InternalSpawnOptions) {
    const result = original.call(this, options);
    emit({
      pid: this.pid,
      file: options.file,
      argv: [...options.args],
      envPairs: options.envPairs ?? pairs(undefined),
    });
    return result;
  };
  // The synchronous starts call an internal binding; wrap the exported functions instead and
  // re-sync the ESM named exports so `import { execFileSync }` sees the wrappers too.
  const mod = childProcess as unknown as Record<SyncName, (...a: unknown[]) => unknown>;
  const originals = {
    spawnSync: mod.spawnSync,
    execFileSync: mod.execFileSync,
    execSync: mod.execSync,
  };
  const argvOf = (name: SyncName, a: unknown[]): { file: string; argv: string[] } => {
    if (name === "execSync") return { file: "/bin/sh", argv: ["/bin/sh", "-c", String(a[0])] };
    const file = String(a[0]);
    return { file, argv: [file, ...(Array.isArray(a[1]) ? (a[1] as unknown[]).map(String) : [])] };
  };
  const optionsOf = (name: SyncName, a: unknown[]) =>
    (name === "execSync" || !Array.isArray(a[1]) ? a[1] : a[2]) as
      | { env?: NodeJS.ProcessEnv }
      | undefined;
  for (const name of Object.keys(originals) as SyncName[]) {
    mod[name] = (...a: unknown[]) => {
      emit({ pid: undefined, ...argvOf(name, a), envPairs: pairs(optionsOf(name, a)?.env) });
      return originals[name](...a);
    };
  }
  syncBuiltinESMExports();
  return () => {
    proto.spawn = original;
    for (const name of Object.keys(originals) as SyncName[]) mod[name] = originals[name];
    syncBuiltinESMExports();
  };
}
