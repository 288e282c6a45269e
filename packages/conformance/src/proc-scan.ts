import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A value seen in a host process's argv or environment (the value itself is never kept). */
export interface ProcHit {
  pid: number;
  /** `/proc/<pid>/comm`, e.g. `podman`. */
  comm: string;
  where: "cmdline" | "environ";
  /** The label of the value (e.g. `"file"`), never the value. */
  value: string;
}

/**
 * Samples `/proc/<pid>/cmdline` and `/proc/<pid>/environ` of every process in this process's
 * PID namespace (the host's, when keyhole runs on the host) for the values of a pass, while
 * the pass works: on a timer and whenever the pass asks (after a secret is created, after a
 * workload started). Processes inside containers live in other PID namespaces and are skipped
 * on purpose: probes put values there deliberately.
 *
 * Reads files in-process; starts no child process, so sampling never adds a process to scan.
 */
export class ProcScanner {
  readonly #needles = new Map<string, Buffer[]>();
  readonly #hits = new Map<string, ProcHit>();
  readonly #ownNs: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** How many samples were taken. */
  samples = 0;
  /** The largest number of processes one sample looked at. */
  maxProcesses = 0;
  /** Why scanning is impossible here (no /proc), if it is. */
  readonly unavailable: string | undefined;

  constructor() {
    let ns: string | undefined;
    let why: string | undefined;
    try {
      ns = readlinkSync("/proc/self/ns/pid");
    } catch (error) {
      why = `cannot read /proc/self/ns/pid (${(error as Error).message})`;
    }
    this.#ownNs = ns;
    this.unavailable = why;
  }

  /** Looks for `value` (and its base64) from now on, under `label`. */
  watch(label: string, value: string | Uint8Array): void {
    const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
    const forms = [bytes, Buffer.from(bytes.toString("base64"), "latin1")];
    this.#needles.set(
      label,
      forms.filter((f) => f.length >= 4),
    );
  }

  /** Samples every `intervalMs` until {@link stop}. The timer never keeps Node alive. */
  start(intervalMs = 250): void {
    if (this.unavailable || this.#timer) return;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
    this.sample();
  }

  /** Stops the timer after a last sample. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.sample();
  }

  /** Takes one sample now. */
  sample(): void {
    if (this.unavailable || this.#needles.size === 0) return;
    let pids: string[];
    try {
      pids = readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    let looked = 0;
    for (const pid of pids) {
      try {
        if (readlinkSync(`/proc/${pid}/ns/pid`) !== this.#ownNs) continue;
      } catch {
        continue; // gone, or not ours to read
      }
      looked++;
      for (const where of ["cmdline", "environ"] as const) {
        let data: Buffer;
        try {
          data = readFileSync(`/proc/${pid}/${where}`);
        } catch {
          continue;
        }
        for (const [label, forms] of this.#needles) {
          if (forms.some((f) => data.includes(f))) {
            const key = `${pid}:${where}:${label}`;
            if (!this.#hits.has(key)) {
              this.#hits.set(key, { pid: Number(pid), comm: comm(pid), where, value: label });
            }
          }
        }
      }
    }
    this.samples++;
    this.maxProcesses = Math.max(this.maxProcesses, looked);
  }

  /** Every hit so far. */
  hits(): ProcHit[] {
    return [...this.#hits.values()];
  }
}

function comm(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}
