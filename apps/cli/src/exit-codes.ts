import type { Report } from "@keyhole/conformance";
import { isKeyholeError } from "@keyhole/core";
import { contradictions } from "./matrix.js";
import type { ReportDiff } from "./report-diff.js";
import { UsageError } from "./usage-error.js";

/**
 * keyhole's exit codes. Findings (an `EXPOSED` cell) are not failures: a comparison that ran
 * exits 0 whatever it found.
 */
export const EXIT = {
  /** The command ran. */
  ok: 0,
  /**
   * A check errored or could not be measured, a backend contradicted its declared
   * capabilities, or keyhole failed.
   */
  failed: 1,
  /** Bad usage. */
  usage: 2,
  /** No backend was available. */
  noBackend: 3,
  /**
   * `keyhole diff` / `compare --baseline`: a verdict got worse (a check is `exposed` now and
   * was not). Distinct from 1–3 so a CI job can tell a regression from a broken run.
   */
  worse: 4,
} as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code for an error that ended a command: the one place errors map to exit codes.
 * `UsageError` → 2; `ENGINE_UNAVAILABLE` → 3; anything else → 1.
 */
export function exitCodeForError(error: unknown): ExitCode {
  if (error instanceof UsageError) return EXIT.usage;
  if (isKeyholeError(error, "ENGINE_UNAVAILABLE")) return EXIT.noBackend;
  return EXIT.failed;
}

/**
 * The exit code for a finished comparison: 3 when no backend ran, 1 when any check errored or
 * was `unmeasurable` (an incomplete comparison must not look complete) or any result
 * contradicts its backend's declared capabilities, else 0. Findings (`exposed`) are
 * what keyhole is for, never a failure.
 */
export function exitCodeForReport(report: Report): ExitCode {
  const ran = report.backends.filter((b) => b.available);
  if (ran.length === 0) return EXIT.noBackend;
  if (contradictions(report).length > 0) return EXIT.failed;
  const unfinished = (o: string) => o === "error" || o === "unmeasurable";
  if (ran.some((b) => b.results.some((r) => unfinished(r.outcome)))) return EXIT.failed;
  return EXIT.ok;
}

/**
 * The exit code for a diff of two reports: 4 when any verdict got worse (a check went to
 * `exposed`), else 1 when a verdict could not be measured in the second report (error,
 * unmeasurable, backend unavailable: nobody can say it did not get worse), else 0.
 */
export function exitCodeForDiff(diff: ReportDiff): ExitCode {
  if (diff.changes.some((c) => c.change === "worse")) return EXIT.worse;
  if (diff.changes.some((c) => c.change === "unknown")) return EXIT.failed;
  return EXIT.ok;
}
