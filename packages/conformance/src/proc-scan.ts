import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { basename } from "node:path";
import { type SpawnRecord, watchSpawns } from "./spawn-watch.js";

/** A value seen in a host process's argv or environment (the value itself is never kept). */
export interface ProcHit {
  pid: number;
  /** `/proc/<pid>/comm`, e.g. `podman`. */
  comm: string;
  where: "cmdline" | "environ";
  /** The label of the value (e.g. `"file"`), never the value. */
  value: string;
  /** `spawn`: seen as this Node process started it; `sample`: in a snapshot of /proc. */
  via?: "spawn" | "sample";
}

interface ProcEntry {
  pid: number;
  comm: string;
  cmdline: Buffer;
  environ: Buffer;
}

/**
 * One read of `/proc/<pid>/{comm,cmdline,environ}` for every process in this process's PID
 * namespace, shared by every scanner of the process: passes running side by side look at the
 * same snapshot instead of each reading /proc (hundreds of files) on its own. Reads are async,
 * so sampling never blocks the event loop the passes run on.
 */
class ProcSnapshots {
  readonly #ownNs: string | undefined;
  readonly unavailable: string | undefined;
  #latest: { at: number; entries: ProcEntry[] } | undefined;
  /** The snapshot being taken (or queued), and when it was asked for. */
  #pending: { at: number; entries: Promise<ProcEntry[]> } | undefined;

  constructor() {
    let ns: string | undefined;
    let why: string | undefined;
    try {
      ns = readlinkSync("/proc/self/ns/pid");
      readdirSync("/proc");
    } catch (error) {
      why = `cannot read /proc (${(error as Error).message})`;
    }
    this.#ownNs = ns;
    this.unavailable = why;
  }

  /**
   * A snapshot begun at most `maxAgeMs` before this call (taking one if needed; concurrent
   * callers share it). `strict`: a snapshot already under way that began earlier is not reused
   * but a new one queued behind it, so `get(0, true)` always sees the processes that existed
   * when it was called; otherwise (timer samples) any snapshot under way is good enough, which
   * keeps sampling from running back to back on a loaded host.
   */
  get(maxAgeMs: number, strict = false): Promise<ProcEntry[]> {
    const now = Date.now();
    if (this.#latest && now - this.#latest.at <= maxAgeMs) {
      return Promise.resolve(this.#latest.entries);
    }
    if (this.#pending && (!strict || now - this.#pending.at <= maxAgeMs)) {
      return this.#pending.entries;
    }
    const before = this.#pending?.entries.catch(() => []) ?? Promise.resolve([]);
    const pending = { at: now, entries: before.then(() => this.#take()) };
    this.#pending = pending;
    void pending.entries
      .finally(() => {
        if (this.#pending === pending) this.#pending = undefined;
      })
      .catch(() => {});
    return pending.entries;
  }

  /** True when `pid` lives in this process's PID namespace (false when gone or unreadable). */
  #ours(pid: string): boolean {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`) === this.#ownNs;
    } catch {
      return false;
    }
  }

  async #take(): Promise<ProcEntry[]> {
    const at = Date.now();
    let pids: string[];
    try {
      pids = (await readdir("/proc")).filter((d) => /^\d+$/.test(d));
    } catch {
      return [];
    }
    // Synchronous reads into one scratch buffer, a few dozen processes at a time with the
    // event loop free in between: a shared host has hundreds of processes, and fs/promises'
    // readFile (a 64 KiB buffer, four thread-pool round trips per file) spent a core on it
    // (profiled: ~35 s of CPU in a three-backend compare on 700 processes).
    const entries: ProcEntry[] = [];
    for (let i = 0; i < pids.length; i += PIDS_PER_TURN) {
      if (i > 0) await new Promise<void>((r) => setImmediate(r));
      for (const pid of pids.slice(i, i + PIDS_PER_TURN)) {
        // The namespace is asked on every snapshot, before and after reading, never cached:
        // pids are reused within minutes on a busy host (pid_max 32768 here, ~18 000 pids in
        // 15 min), so a pid that was a host process may now be a container's, whose processes
        // hold values on purpose (a cached answer made podman-pass "expose" its env value).
        if (!this.#ours(pid)) continue;
        const entry = {
          pid: Number(pid),
          comm: (readProc(`/proc/${pid}/comm`)?.toString("utf8") ?? "?").trim(),
          cmdline: readProc(`/proc/${pid}/cmdline`) ?? Buffer.alloc(0),
          environ: readProc(`/proc/${pid}/environ`) ?? Buffer.alloc(0),
        };
        if (this.#ours(pid)) entries.push(entry);
      }
    }
    this.#latest = { at, entries };
    return entries;
  }
}

/** Processes read per event-loop turn (each turn blocks for well under a millisecond per process). */
const PIDS_PER_TURN = 32;

let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The whole content of a /proc file (their size is unknown up front), read synchronously
 * through a reused scratch buffer and copied out; undefined when it cannot be read.
 */
function readProc(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    let total = 0;
    for (;;) {
      if (total === scratch.length) {
        const bigger = Buffer.allocUnsafe(scratch.length * 2);
        scratch.copy(bigger, 0, 0, total);
        scratch = bigger;
      }
      const n = readSync(fd, scratch, total, scratch.length - total, null);
      if (n === 0) break;
      total += n;
    }
    return Buffer.from(scratch.subarray(0, total));
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

let snapshots: ProcSnapshots | undefined;

/**
 * Looks for the values of one pass in the argv and environment of host processes, two ways:
 *
 * - every process **this Node process starts** (the backend's engine CLI calls, its helpers) is
 *   checked as it is spawned ({@link watchSpawns}), however short it lives;
 * - every process in this process's PID namespace (the host's, when keyhole runs on the host) is
 *   sampled from `/proc` on a timer and whenever the pass asks (after a secret is created,
 *   after a workload started). A sample reads three files per process: with ~600 processes on
 *   a loaded 2-core host one took about a second, so a process that neither this Node process
 *   started nor lives that long (a child of the engine CLI, a daemon's helper) can be missed.
 *
 * Processes inside containers live in other PID namespaces and are skipped on purpose: probes
 * put values there deliberately. All scanners of a process share one snapshot per interval.
 */
export class ProcScanner {
  readonly #needles = new Map<string, Buffer[]>();
  readonly #hits = new Map<string, ProcHit>();
  readonly #inFlight = new Set<Promise<void>>();
  /**
   * Per `pid:cmdline|environ`: the content last searched, and how many of the needles (in
   * watch order) it was searched for, in which generation of the needle list.
   */
  readonly #searched = new Map<string, { data: Buffer; needles: number; generation: number }>();
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #unwatch: (() => void) | undefined;
  #interval = 1000;
  /** How many snapshots this scanner looked at. */
  samples = 0;
  /** How many processes started by this Node process were checked as they were spawned. */
  spawns = 0;
  /** The largest number of processes one snapshot held. */
  maxProcesses = 0;

  /** Why scanning is impossible here (no /proc), if it is. */
  get unavailable(): string | undefined {
    snapshots ??= new ProcSnapshots();
    return snapshots.unavailable;
  }

  /** Looks for `value` (and its base64) from now on, under `label`. */
  watch(label: string, value: string | Uint8Array): void {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    const forms = [bytes, Buffer.from(bytes.toString("base64"), "latin1")];
    // A label watched again keeps its place in the map with new forms: search everything anew.
    if (this.#needles.has(label)) this.#generation++;
    this.#needles.set(
      label,
      forms.filter((f) => f.length >= 4),
    );
  }

  /** Samples every `intervalMs` until {@link stop}. The timer never keeps Node alive. */
  start(intervalMs = 1000): void {
    this.#unwatch ??= watchSpawns((r) => this.#checkSpawn(r));
    if (this.unavailable || this.#timer) return;
    this.#interval = intervalMs;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    this.sample();
  }

  /** Stops the timer and waits for a last sample. */
  async stop(): Promise<void> {
    this.#unwatch?.();
    this.#unwatch = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.settle();
  }

  /**
   * Starts a sample (not blocking the caller); a snapshot taken within half the interval is
   * reused. {@link settle} waits for every sample started so far.
   */
  sample(): void {
    if (this.unavailable || this.#needles.size === 0) return;
    const p = snapshots!
      .get(this.#interval / 2)
      .then((entries) => this.#check(entries))
      .catch(() => {})
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Takes a fresh sample and waits for it and every earlier one. */
  async settle(): Promise<void> {
    if (this.unavailable || this.#needles.size === 0) return;
    const fresh = snapshots!.get(0, true).then((entries) => this.#check(entries));
    await Promise.all([...this.#inFlight, fresh]);
  }

  #check(entries: readonly ProcEntry[]): void {
    const needles = [...this.#needles];
    for (const e of entries) {
      for (const where of ["cmdline", "environ"] as const) {
        const data = e[where];
        // A process whose argv or environment has not changed since the last sample was
        // already searched for the needles watched then: only newer needles are searched.
        // (Most of a host's hundreds of processes never change; searching them all again for
        // every needle on every sample cost more CPU than anything else in a pass.)
        const key = `${e.pid}:${where}`;
        const prev = this.#searched.get(key);
        const from =
          prev && prev.generation === this.#generation && prev.data.equals(data) ? prev.needles : 0;
        for (let k = from; k < needles.length; k++) {
          const [label, forms] = needles[k]!;
          if (forms.some((f) => data.includes(f))) {
            const hit = `${e.pid}:${where}:${label}`;
            if (!this.#hits.has(hit)) {
              this.#hits.set(hit, { pid: e.pid, comm: e.comm, where, value: label, via: "sample" });
            }
          }
        }
        this.#searched.set(key, { data, needles: needles.length, generation: this.#generation });
      }
    }
    this.samples++;
    this.maxProcesses = Math.max(this.maxProcesses, entries.length);
  }

  #checkSpawn(r: SpawnRecord): void {
    this.spawns++;
    const pid = r.pid ?? 0;
    const comm = basename(r.file).slice(0, 15);
    const seen = { cmdline: r.argv.join("\0"), environ: r.envPairs.join("\0") };
    for (const where of ["cmdline", "environ"] as const) {
      const data = Buffer.from(seen[where]);
      for (const [label, forms] of this.#needles) {
        const key = `spawn:${pid}:${where}:${label}`;
        if (!this.#hits.has(key) && forms.some((f) => data.includes(f))) {
          this.#hits.set(key, { pid, comm, where, value: label, via: "spawn" });
        }
      }
    }
  }

  /**
   * The sampler's positive control: starts a short `sleep` whose argv holds a random canary,
   * takes a fresh sample, and says whether the canary was seen (then forgets it).
   */
  async canary(): Promise<boolean> {
    if (this.unavailable) return false;
    const label = "\0canary";
    const token = `kh-canary-${randomBytes(12).toString("hex")}`;
    this.watch(label, token);
    // The token is sh's $0 (sleep would reject it as a duration); `; :` keeps sh from exec'ing
    // sleep, so the token stays in a live process's argv.
    const child = spawn("sh", ["-c", "sleep 30; :", token], { stdio: "ignore", detached: true });
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", reject);
      });
      // A snapshot already under way may have listed /proc before the canary existed: look
      // again until one taken after it sees it (or three did not).
      // Seen by sampling /proc, not by the spawn watch (which sees every start by design).
      const seen = () =>
        [...this.#hits.values()].some((h) => h.value === label && h.via !== "spawn");
      for (let i = 0; i < 3 && !seen(); i++) await this.settle();
      return seen();
    } catch {
      return false;
    } finally {
      // The whole group: sh and its sleep.
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
      this.#needles.delete(label);
      for (const [key, hit] of this.#hits) if (hit.value === label) this.#hits.delete(key);
    }
  }

  /** Every hit so far (call {@link settle} first for an up-to-date answer). */
  hits(): ProcHit[] {
    return [...this.#hits.values()];
  }
}
