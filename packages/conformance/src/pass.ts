import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import type {
  Capabilities,
  ExecResult,
  RunSpec,
  SecretBackend,
  SecretHandle,
  SecretValue,
  Workload,
} from "@keyhole/core";
import { type EngineCli, engineCli } from "./host-engine.js";
import { type StorageScope, storageScope } from "./host-scan.js";
import { ProcScanner } from "./proc-scan.js";
import { Redactor } from "./redaction.js";
import type { Evidence, HostProbeCounts, WorkloadRecord } from "./report.js";

/** What an engine query by the run's label returned (see `sightRun`). */
export interface SightResult {
  ok: boolean;
  code: number;
  ids: string[];
  stderr: string;
}

/** The users every probe looks as: root, alice (2000) and bob (3000) of the probe image. */
export const USERS = { root: "0", alice: "2000", bob: "3000" } as const;

/** sha256 hex of a value's bytes (probes compare digests, so values never travel in argv). */
export function sha256(value: string | Uint8Array): string {
  return createHash("sha256")
    .update(typeof value === "string" ? Buffer.from(value, "utf8") : value)
    .digest("hex");
}

/**
 * What a pass takes before the backend exists (before its factory runs, before `ready()`): the
 * start time, the entries of the temp dir and the host process watch. A backend that makes a
 * temp dir while it is created or in `ready()` and later writes values into it is then still
 * looked at by hygiene.temp-files, and its processes are watched from the first one.
 */
export class PassBaseline {
  /** When the pass started (epoch ms). */
  readonly startedAt = Date.now();
  /** The names in the temp dir before the backend existed. */
  readonly tmpEntries: ReadonlySet<string> = new Set(safeReaddir(tmpdir()));
  /** The host process watch, started at once. */
  readonly procs = new ProcScanner();

  constructor() {
    this.procs.start(1000);
  }
}

/**
 * Everything one backend's pass shares between its checks: the backend, its test values (all
 * redacted from the report), the secrets and workloads it made, the host oracle and the
 * process sampler. Internal to the suite.
 */
export class Pass {
  readonly backend: SecretBackend;
  readonly caps: Capabilities;
  readonly image: string;
  readonly redactor = new Redactor();
  readonly procs: ProcScanner;
  readonly cli: EngineCli | undefined;
  /** Short random tag in every name this pass creates. */
  readonly tag = randomBytes(3).toString("hex");
  /** When the pass started, before the backend was created (epoch ms). */
  readonly startedAt: number;
  /** The names in the temp dir before the backend was created (hygiene.temp-files looks at what is new). */
  readonly tmpBaseline: ReadonlySet<string>;
  /** Printable test values by label, for host scans. */
  readonly textValues = new Map<string, string>();
  /** Every secret name this pass asked the backend to create. */
  readonly secretNames = new Set<string>();
  /** Every workload that really started. */
  readonly workloads: Workload[] = [];
  /** Every attempted workload. */
  readonly workloadRecords: WorkloadRecord[] = [];
  /** This run's containers as the engine listed them by label right before `dispose()`. */
  beforeDispose: SightResult | undefined;
  /** Set once `dispose()` ran: its error message, or null when it succeeded. */
  disposeError: string | null | undefined;
  /** Evidence of the check running now. */
  evidence: Evidence[] = [];
  /** Exec sessions opened in this pass's workloads (`exec` and `scrub` calls), for the report. */
  execSessions = 0;
  /** Host probes run by this pass, for the report. */
  readonly hostProbes: HostProbeCounts = { engineCli: 0, storageScans: 0 };
  readonly signal: AbortSignal | undefined;

  constructor(
    backend: SecretBackend,
    image: string,
    baseline: PassBaseline = new PassBaseline(),
    signal?: AbortSignal,
    /** `cli` replaces the engine's CLI (unit tests feed synthetic engine answers). */
    options: { cli?: EngineCli } = {},
  ) {
    this.backend = backend;
    this.procs = baseline.procs;
    this.startedAt = baseline.startedAt;
    this.tmpBaseline = baseline.tmpEntries;
    this.caps = { ...backend.capabilities };
    this.image = image;
    const cli = options.cli ?? engineCli(backend.engine);
    // Counted where every check goes through, so the report's counts cannot miss a call.
    this.cli = cli && {
      ...cli,
      run: (args, timeoutMs) => {
        this.hostProbes.engineCli++;
        return cli.run(args, timeoutMs);
      },
    };
    this.signal = signal;
  }

  #scope: Promise<StorageScope> | undefined;

  /**
   * The engine CLI of the node that runs `workload` (a multi-node engine: the container is only
   * known to its node's engine), else {@link cli}.
   */
  cliFor(workload: Workload): EngineCli | undefined {
    const node = this.backend.engine.cluster?.nodes.find((n) => n.name === workload.node);
    if (!node || !this.cli) return this.cli;
    return engineCli({ ...this.backend.engine, endpoint: node.endpoint });
  }

  /** The engine CLI of every node of a multi-node engine, by node name; empty on one node. */
  nodeClis(): Array<{ node: string; cli: EngineCli }> {
    if (!this.cli) return [];
    return (this.backend.engine.cluster?.nodes ?? []).flatMap((n) => {
      const cli = engineCli({ ...this.backend.engine, endpoint: n.endpoint });
      return cli ? [{ node: n.name, cli }] : [];
    });
  }

  /**
   * Where the engine keeps state on the host (asked once per pass; `podman info` takes seconds
   * on a busy machine, so the pass starts asking early).
   */
  storageScope(): Promise<StorageScope> {
    this.#scope ??= storageScope(this.backend.engine, this.cli);
    return this.#scope;
  }

  /** A fresh random printable value, redacted everywhere and watched on the host. */
  newValue(label: string): string {
    const value = randomBytes(16).toString("hex");
    this.addValue(label, value);
    this.textValues.set(label, value);
    return value;
  }

  /**
   * A fresh random value that is **not** a secret (a plain env variable): neither redacted nor
   * looked for on the host, as a backend may pass plain env on a command line.
   */
  newPlainValue(): string {
    return randomBytes(16).toString("hex");
  }

  /** Registers a value made elsewhere (binary, large) for redaction and process sampling. */
  addValue(label: string, value: string | Uint8Array): void {
    this.redactor.add(value);
    this.procs.watch(label, value);
  }

  /** A secret name unique to this pass: `kh-<label>-<tag>`. */
  name(label: string): string {
    return `kh-${label}-${this.tag}`;
  }

  /** `backend.createSecret` under this pass's name for `label`; samples host processes after. */
  async createSecret(label: string, value: SecretValue): Promise<SecretHandle> {
    const name = this.name(label);
    this.secretNames.add(name);
    try {
      return await this.backend.createSecret(name, value, {
        labels: { "keyhole.conformance": label },
      });
    } finally {
      this.procs.sample();
    }
  }

  /** `backend.run`, recorded as a workload start; samples host processes after. */
  async run(spec: RunSpec, fixtures: string[]): Promise<Workload> {
    const started = Date.now();
    const record: WorkloadRecord = { fixtures, startMs: 0, started: false };
    this.workloadRecords.push(record);
    try {
      const workload = this.#counted(await this.backend.run(spec));
      record.started = true;
      this.workloads.push(workload);
      return workload;
    } finally {
      record.startMs = Date.now() - started;
      this.procs.sample();
    }
  }

  /**
   * `workload` with its `exec` and `scrub` counted in {@link execSessions}: every probe, batch
   * and fixture check reaches the workload through this object.
   */
  #counted(workload: Workload): Workload {
    return new Proxy(workload, {
      get: (target, prop) => {
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== "function") return value;
        const fn = value as (...args: unknown[]) => unknown;
        if (prop === "exec" || prop === "scrub") {
          return (...args: unknown[]) => {
            this.execSessions++;
            return fn.apply(target, args);
          };
        }
        return fn.bind(target);
      },
    });
  }

  /**
   * Runs `script` with `sh -c` in `workload` as `user`, records redacted evidence, and returns
   * the raw result for the check to compare. Throws if the script holds a value: probes feed
   * values on stdin or compare digests.
   */
  async sh(
    workload: Workload,
    script: string,
    options: { user?: string; stdin?: string | Uint8Array; note?: string } = {},
  ): Promise<ExecResult> {
    if (this.redactor.leaks(script)) {
      throw new Error("keyhole conformance bug: a probe script holds a test value.");
    }
    const user = options.user ?? USERS.root;
    const argv = ["sh", "-c", script];
    const result = await workload.exec(argv, {
      user,
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
    });
    this.record({
      where: "container",
      user,
      argv,
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      ...(options.note ? { note: options.note } : {}),
    });
    const problem = incomplete(result.stdout, user, `The probe as uid ${user}`);
    if (problem) {
      throw new Error(
        `${problem} Exit code ${result.exitCode}${result.stderr ? `; stderr: ${this.redactor.clip(result.stderr, 300)}` : ""}`,
      );
    }
    return result;
  }

  /**
   * Runs several probe scripts in **one** root exec session, each as its own user via
   * `su -s /bin/sh <user> -c` (a separate process per part, one engine round trip), and
   * returns each part's output, in order. Records no evidence: the caller does.
   */
  async runParts(
    workload: Workload,
    parts: ReadonlyArray<readonly [ProbeUser, string]>,
  ): Promise<{ outputs: PartResult[]; result: ExecResult; argv: string[] }> {
    const text = partsScript(parts);
    if (this.redactor.leaks(text)) {
      throw new Error("keyhole conformance bug: a probe script holds a test value.");
    }
    const argv = ["sh", "-c", text];
    const result = await workload.exec(argv, { user: USERS.root });
    return { outputs: splitParts(result.stdout, parts), result, argv };
  }

  /** {@link runParts} for one check, with its evidence recorded; returns each part's `key=value` map. */
  async multi(
    workload: Workload,
    parts: ReadonlyArray<readonly [ProbeUser, string]>,
    note?: string,
  ): Promise<Array<Map<string, string>>> {
    const { outputs, result, argv } = await this.runParts(workload, parts);
    this.record({
      where: "container",
      user: USERS.root,
      argv,
      exitCode: result.exitCode,
      stdout: result.stdout,
      stderr: result.stderr,
      ...(note ? { note } : {}),
    });
    const problem = outputs.find((o) => o.problem)?.problem;
    if (problem) throw new Error(problem);
    return outputs.map((o) => o.kv);
  }

  /** Adds a redacted, truncated evidence step to the current check. */
  record(step: Evidence): void {
    this.evidence.push(this.redactor.evidence(step));
  }

  /** Throws the signal's reason when the run was aborted. */
  throwIfAborted(): void {
    this.signal?.throwIfAborted();
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Parses probe output of `key=value` lines into a map (first occurrence wins). Probes print
 * digests and stat fields this way.
 */
export function parseKv(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const i = line.indexOf("=");
    if (i <= 0) continue;
    const key = line.slice(0, i).trim();
    if (!out.has(key)) out.set(key, line.slice(i + 1).trim());
  }
  return out;
}

/**
 * Shell helpers every probe script starts with:
 * - `h` — sha256 hex of stdin;
 * - `rd FILE KEY` — prints `KEY=<sha256>` when the file can be read, else `KEY=denied <error>`;
 * - `wr FILE KEY TEXT` — tries to overwrite FILE with TEXT, prints `KEY=ok` or `KEY=refused <error>`.
 */
export const SH_PRELUDE = [
  "h() { sha256sum | cut -c1-64; }",
  'rd() { if cat -- "$1" >/dev/null 2>&1; then echo "$2=$(cat -- "$1" | h)"; else echo "$2=denied $(cat -- "$1" 2>&1 >/dev/null | head -n1)"; fi; }',
  'wr() { if e=$( { printf %s "$3" > "$1"; } 2>&1 ); then echo "$2=ok"; else echo "$2=refused $e"; fi; }',
].join("\n");

/** Lists every process's arguments twice over: `ps`, then each /proc/<pid>/cmdline. */
export const PS_LISTING = [
  "ps -o pid,user,args",
  "echo ---",
  "for p in /proc/[0-9]*; do printf '%s: ' \"$p\"; tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done",
].join("\n");

/** The users of the probe image a part can run as. */
export type ProbeUser = "root" | "alice" | "bob";

/** What one part of a {@link partsScript} printed, and why it cannot be trusted (if so). */
export interface PartResult {
  kv: Map<string, string>;
  raw: string;
  /** Set when the part did not run to its end as its user (see {@link incomplete}). */
  problem?: string;
}

/** Splits the output of a {@link partsScript} by part and checks each part's end marker. */
export function splitParts(
  stdout: string,
  parts: ReadonlyArray<readonly [ProbeUser, string]>,
): PartResult[] {
  const raws: Array<string | undefined> = parts.map(() => undefined);
  const chunks = stdout.split(/^@@part=(\d+)$/m);
  for (let i = 1; i < chunks.length; i += 2) {
    const at = Number(chunks[i]);
    if (at < raws.length) raws[at] = chunks[i + 1] ?? "";
  }
  return parts.map(([user], i) => {
    const raw = raws[i] ?? "";
    const problem =
      raws[i] === undefined
        ? `Part ${i} (as ${user}) never started (no @@part=${i} line in the output).`
        : incomplete(raw, USERS[user], `Part ${i} (as ${user})`);
    return { kv: parseKv(raw), raw, ...(problem ? { problem } : {}) };
  });
}

/**
 * One root shell script running `parts` in order, each introduced by an `@@part=<i>` line;
 * root parts in a subshell, others through `su -s /bin/sh <user> -c`.
 */
export function partsScript(parts: ReadonlyArray<readonly [ProbeUser, string]>): string {
  return parts
    .flatMap(([user, body], i) => {
      const full = script(body);
      return [
        `echo '@@part=${i}'`,
        user === "root" ? `(\n${full}\n)` : `su -s /bin/sh ${user} -c ${q(full)}`,
      ];
    })
    .join("\n");
}

/**
 * The last line of every probe script: the exit status of the line before and the uid the
 * shell ran as. A probe whose output lacks it did not run to its end (killed, never started,
 * `su` failed, an exec that printed nothing), and nothing it did not print may read as a denial.
 */
export const END_MARKER = 'echo "@@end=$? $(id -u)"';

/** A probe script: the prelude, then `lines`, then {@link END_MARKER}. */
export function script(...lines: string[]): string {
  return `${SH_PRELUDE}\n${lines.join("\n")}\n${END_MARKER}`;
}

/** The end marker in a probe's output (the last one), if any. */
export function probeEnd(raw: string): { status: number; uid: string } | undefined {
  const all = [...raw.matchAll(/^@@end=(\d+) (\d+)$/gm)];
  const m = all[all.length - 1];
  return m ? { status: Number(m[1]), uid: m[2]! } : undefined;
}

/**
 * Why a probe's output cannot be trusted, or undefined when it ran to its end as `uid` with
 * status 0. `what` names the probe in the sentence (`"part 2 (as bob)"`).
 */
export function incomplete(raw: string, uid: string, what: string): string | undefined {
  const end = probeEnd(raw);
  if (!end) return `${what} did not run to its end (its output has no end marker).`;
  if (end.uid !== uid) return `${what} ran as uid ${end.uid}, not ${uid}.`;
  if (end.status !== 0) return `${what} ended with status ${end.status}.`;
  return undefined;
}

/** Single-quotes `s` for sh. */
export function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
