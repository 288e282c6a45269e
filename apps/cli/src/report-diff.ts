/**
 * The parts of a conformance report a diff reads. Outcomes are plain strings so a report
 * written by another schema version (e.g. one with the `unmeasurable` outcome) still diffs.
 */
export interface DiffableReport {
  schemaVersion: number;
  tool: { name: string; version: string };
  startedAt: string;
  backends: readonly DiffableBackend[];
}

/** One backend (column) of a {@link DiffableReport}. */
export interface DiffableBackend {
  id: string;
  available: boolean;
  unavailableReason?: string;
  engine: { name: string; version: string };
  results: readonly { check: string; outcome: string; observed?: string }[];
}

/**
 * How one verdict moved between two reports:
 *
 * - `worse` — it is `exposed` now and was not (protected, unsupported, or not measured): the
 *   regression a CI gate stops on;
 * - `better` — it was `exposed` and now is `protected` or `unsupported`;
 * - `unknown` — it had a verdict and now has none (`error`, `unmeasurable`, or the backend was
 *   tried and is unavailable): nobody can tell whether it got worse;
 * - `changed` — any other move (e.g. `protected` → `unsupported`, `error` → `protected`).
 */
export type VerdictChangeKind = "worse" | "better" | "unknown" | "changed";

/** A backend column as a diff names it: backend id and engine, e.g. `podman-file · podman 4.3.1`. */
export interface DiffColumn {
  /** The backend id. */
  backend: string;
  /** Engine name and version, e.g. `"podman 4.3.1"`. */
  engine: string;
}

/** One check of one backend whose verdict differs between the two reports. */
export interface VerdictChange {
  /** The check id, e.g. `"env.engine-inspect-shows"`. */
  check: string;
  /** The backend id. */
  backend: string;
  /** Engine of the column in the first report, e.g. `"podman 4.3.1"`. */
  engineBefore: string;
  /** Engine of the column in the second report (differs from `engineBefore` across an upgrade). */
  engineAfter: string;
  /** Outcome in the first report. */
  before: string;
  /** Outcome in the second report, or `"unavailable"` when the backend could not run. */
  after: string;
  /** What kind of move it is. */
  change: VerdictChangeKind;
  /** The observed value in the first report (already redacted by the suite). */
  observedBefore?: string;
  /** The observed value in the second report, or why the backend was unavailable. */
  observedAfter?: string;
}

/** Everything that differs between two conformance reports. */
export interface ReportDiff {
  /** Every verdict that moved, worst first (worse, unknown, changed, better), then by column and check. */
  changes: VerdictChange[];
  /** How many verdicts were compared and are identical. */
  unchanged: number;
  /** Columns of the first report with no counterpart in the second (not compared). */
  onlyBefore: DiffColumn[];
  /** Columns of the second report with no counterpart in the first (not compared). */
  onlyAfter: DiffColumn[];
  /** Checks run in the first report but not the second, per matched column, as `backend check`. */
  checksOnlyBefore: string[];
  /** Checks run in the second report but not the first, per matched column, as `backend check`. */
  checksOnlyAfter: string[];
}

const NO_VERDICT = new Set(["error", "unmeasurable", "unavailable"]);

const ORDER: Readonly<Record<VerdictChangeKind, number>> = {
  worse: 0,
  unknown: 1,
  changed: 2,
  better: 3,
};

/** The kind of move from outcome `before` to outcome `after` (which differ). */
export function classifyChange(before: string, after: string): VerdictChangeKind {
  if (after === "exposed") return "worse";
  if (NO_VERDICT.has(after)) return NO_VERDICT.has(before) ? "changed" : "unknown";
  if (before === "exposed") return "better";
  return "changed";
}

/** `podman 4.3.1` from a backend's engine block. */
export function engineLabel(engine: { name: string; version: string }): string {
  return [engine.name, engine.version].filter(Boolean).join(" ");
}

/**
 * Compares two conformance reports verdict by verdict. Pure.
 *
 * Columns are matched by backend id + engine (name and version) first, so a report holding
 * the same backend on two engine generations pairs each with its own; then a backend id left
 * over exactly once on each side is paired across its engine change (the upgrade a CI job
 * pins a backend across). A backend that ran before and was tried but unavailable after turns
 * every verdict it had into `unknown`. Columns and checks on one side only are listed, not
 * judged.
 *
 * @example
 * ```ts
 * const diff = diffReports(before, after);
 * if (diff.changes.some((c) => c.change === "worse")) process.exitCode = 4;
 * ```
 */
export function diffReports(before: DiffableReport, after: DiffableReport): ReportDiff {
  const left = before.backends.filter((b) => b.available);
  const right = after.backends.filter((b) => b.available);
  const pairs: [DiffableBackend, DiffableBackend][] = [];
  const key = (b: DiffableBackend) => `${b.id}\u0000${engineLabel(b.engine)}`;
  const rightLeft = new Set(right);
  const leftLeft: DiffableBackend[] = [];
  for (const b of left) {
    const match = [...rightLeft].find((a) => key(a) === key(b));
    if (match) {
      pairs.push([b, match]);
      rightLeft.delete(match);
    } else {
      leftLeft.push(b);
    }
  }
  const unpairedBefore: DiffableBackend[] = [];
  for (const b of leftLeft) {
    const sameIdBefore = leftLeft.filter((x) => x.id === b.id);
    const sameIdAfter = [...rightLeft].filter((x) => x.id === b.id);
    if (sameIdBefore.length === 1 && sameIdAfter.length === 1) {
      pairs.push([b, sameIdAfter[0]!]);
      rightLeft.delete(sameIdAfter[0]!);
    } else {
      unpairedBefore.push(b);
    }
  }

  const changes: VerdictChange[] = [];
  const checksOnlyBefore: string[] = [];
  const checksOnlyAfter: string[] = [];
  let unchanged = 0;
  for (const [b, a] of pairs) {
    const afterByCheck = new Map(a.results.map((r) => [r.check, r]));
    const beforeChecks = new Set(b.results.map((r) => r.check));
    for (const r of b.results) {
      const other = afterByCheck.get(r.check);
      if (!other) {
        checksOnlyBefore.push(`${b.id} ${r.check}`);
        continue;
      }
      if (other.outcome === r.outcome) {
        unchanged += 1;
        continue;
      }
      changes.push({
        check: r.check,
        backend: b.id,
        engineBefore: engineLabel(b.engine),
        engineAfter: engineLabel(a.engine),
        before: r.outcome,
        after: other.outcome,
        change: classifyChange(r.outcome, other.outcome),
        ...(r.observed === undefined ? {} : { observedBefore: r.observed }),
        ...(other.observed === undefined ? {} : { observedAfter: other.observed }),
      });
    }
    for (const r of a.results) {
      if (!beforeChecks.has(r.check)) checksOnlyAfter.push(`${a.id} ${r.check}`);
    }
  }

  // A backend that ran before and was tried but could not run after: its verdicts are gone.
  const onlyBefore: DiffColumn[] = [];
  for (const b of unpairedBefore) {
    const tried = after.backends.find((x) => !x.available && x.id === b.id);
    if (!tried) {
      onlyBefore.push({ backend: b.id, engine: engineLabel(b.engine) });
      continue;
    }
    for (const r of b.results) {
      if (NO_VERDICT.has(r.outcome)) continue;
      changes.push({
        check: r.check,
        backend: b.id,
        engineBefore: engineLabel(b.engine),
        engineAfter: engineLabel(tried.engine),
        before: r.outcome,
        after: "unavailable",
        change: "unknown",
        ...(r.observed === undefined ? {} : { observedBefore: r.observed }),
        observedAfter: tried.unavailableReason ?? "not available (no reason given)",
      });
    }
  }

  changes.sort(
    (x, y) =>
      ORDER[x.change] - ORDER[y.change] ||
      x.backend.localeCompare(y.backend) ||
      x.engineAfter.localeCompare(y.engineAfter) ||
      x.check.localeCompare(y.check),
  );
  return {
    changes,
    unchanged,
    onlyBefore,
    onlyAfter: [...rightLeft].map((a) => ({ backend: a.id, engine: engineLabel(a.engine) })),
    checksOnlyBefore,
    checksOnlyAfter,
  };
}

/** Whether any verdict got worse (a check went to `exposed`). */
export function anyWorse(diff: ReportDiff): boolean {
  return diff.changes.some((c) => c.change === "worse");
}
