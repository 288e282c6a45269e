import type { Capabilities } from "@keyhole/core";

/**
 * What a check found on one backend:
 *
 * - `protected` — the probe looked and the value did not get through;
 * - `exposed` — the value got through (a finding about the engine, not by itself a failure);
 * - `unsupported` — the backend cannot express the delivery and refused it with
 *   `UNSUPPORTED_DELIVERY` (the suite made the request and saw the refusal);
 * - `unmeasurable` — the check cannot be measured on this backend or machine (e.g. keyhole has
 *   no way to see the engine's storage); `reason` always says why. Never a pass: the vitest
 *   front door fails it unless the test declares it expected (`expectUnmeasurable`), and the
 *   CLI exits 1;
 * - `error` — the check could not be carried out; `reason` and `evidence` say why.
 */
export type Outcome = "protected" | "exposed" | "unsupported" | "unmeasurable" | "error";

/** The outcomes in a stable order (for matrices and counts). */
export const OUTCOMES: readonly Outcome[] = [
  "protected",
  "exposed",
  "unsupported",
  "unmeasurable",
  "error",
];

/**
 * One step of a probe, redacted: what ran where, as whom, and what came back. Output is
 * truncated; a value never appears (it is replaced by `[REDACTED]`).
 */
export interface Evidence {
  /** `container` (an exec session in the workload) or `host` (engine CLI, /proc, a file scan). */
  where: "container" | "host";
  /** The user of a container exec (`"0"`, `"2000"`, `"3000"`). */
  user?: string;
  /** argv of the probe (never holds a value; probes feed values on stdin or compare digests). */
  argv: string[];
  /** Exit code, when a process ran. */
  exitCode?: number;
  /** Standard output, redacted and truncated. */
  stdout?: string;
  /** Standard error, redacted and truncated. */
  stderr?: string;
  /** A line of explanation (what this step shows). */
  note?: string;
}

/** The result of one check on one backend. */
export interface CheckResult {
  /** The check id, e.g. `"file.uid-gid-mode-honoured"`. */
  check: string;
  /** What was found. */
  outcome: Outcome;
  /** A short observed value, e.g. `"root:root 0444 /run/secrets/s"`, `"511999"`. Redacted. */
  observed?: string;
  /**
   * Why the outcome is `unsupported`, `unmeasurable` or `error` (the adapter's or engine's
   * message, redacted). Always set for those three outcomes.
   */
  reason?: string;
  /**
   * Set when the result contradicts the backend's declared capabilities or breaks a keyhole
   * invariant: the sentence a failing test prints. Absent when the backend behaved as declared.
   */
  contradiction?: string;
  /** The probes that led to the outcome, redacted. */
  evidence?: Evidence[];
  /** Time spent in this check (its probes; workload starts are accounted in `workloads`). */
  durationMs: number;
}

/** One workload (container) the suite started on a backend. */
export interface WorkloadRecord {
  /** Which fixtures it carried, e.g. `["file", "owned", "outside"]`. */
  fixtures: string[];
  /** Time from `run()` to a running workload, ms. */
  startMs: number;
  /** False when `run()` threw (e.g. the expected `UNSUPPORTED_DELIVERY`). */
  started: boolean;
}

/** How many host-side probes of each kind a pass ran. */
export interface HostProbeCounts {
  /** Calls of the engine's own CLI. */
  engineCli: number;
  /** Scans of the engine's storage for test values. */
  storageScans: number;
}

/** Everything measured on one backend. */
export interface BackendReport {
  /** The backend id (`"podman-file"`, …). */
  id: string;
  /** False when `ready()` failed; then `results` is empty and `unavailableReason` says why. */
  available: boolean;
  /** The `ENGINE_UNAVAILABLE` message (with its fix command). */
  unavailableReason?: string;
  /** The engine, as the backend describes it, with the version `ready()` returned. */
  engine: { name: string; version: string };
  /** The capabilities the backend declared. */
  capabilities: Capabilities;
  /** One result per selected check, in catalogue order. */
  results: CheckResult[];
  /** How many workloads were really started (the run's floor: this × one bare container start). */
  workloadStarts: number;
  /** Each attempted workload, in start order. */
  workloads: WorkloadRecord[];
  /**
   * Exec sessions the pass opened in its workloads (each `exec` and `scrub` call; a batch of
   * read-only probes is one). With `workloadStarts` and `hostProbes`, what a pass must cost at
   * least: the bench's floor multiplies each count by the bare engine's cost of one.
   */
  execSessions?: number;
  /**
   * Host-side probes the pass ran: engine CLI calls (`podman inspect`, `docker ps`, `podman
   * info`, …) and storage scans (one `grep -r` over the engine's state each, plus the
   * workloads' writable layers while they run).
   */
  hostProbes?: HostProbeCounts;
  /** Time from the start of the pass until every workload ran (ready, probe image, secrets, starts), ms. */
  setupMs?: number;
  /** Time `backend.dispose()` took, ms. */
  disposeMs?: number;
  /** Wall time of this backend's pass, ms. */
  durationMs: number;
}

/** The conformance report: stable, versioned JSON. */
export interface Report {
  /**
   * Bumped on any incompatible change of this shape. 2: the outcome `unmeasurable` was added
   * (a reader of version 1 knew four outcomes).
   */
  schemaVersion: 2;
  /** The tool that wrote it. */
  tool: { name: string; version: string };
  /** ISO 8601 time the run started. */
  startedAt: string;
  /** Wall time of the whole run, ms. */
  durationMs: number;
  /** One entry per backend, in the order given. */
  backends: BackendReport[];
}

/** The schema version this package writes. */
export const SCHEMA_VERSION = 2 as const;
