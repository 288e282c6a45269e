// Progress lines with timings for the release dry run, and the error that says what to fix.
import { performance } from "node:perf_hooks";

/** A failed release check: `problems` are one line each, every line saying what to fix. */
export class ReleaseCheckError extends Error {
  /**
   * @param {string} check the check that failed, e.g. "publint"
   * @param {string[]} problems one line per problem, each naming the package and the fix
   */
  constructor(check, problems) {
    super(`${check} failed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ReleaseCheckError";
    this.check = check;
    this.problems = problems;
  }
}

/** Throws a ReleaseCheckError when `problems` is not empty. */
export function assertNoProblems(check, problems) {
  if (problems.length > 0) throw new ReleaseCheckError(check, problems);
}

const prefix = "[release-dry-run]";

/** Seconds since `started` (a performance.now() value), one decimal. */
export function elapsed(started) {
  return `${((performance.now() - started) / 1000).toFixed(1)} s`;
}

/**
 * Runs one step and prints `✓ label (1.2 s)` or `✗ label (1.2 s)`; rethrows a failure.
 * @template T
 * @param {string} label
 * @param {() => Promise<T> | T} fn
 * @returns {Promise<T>}
 */
export async function step(label, fn) {
  const started = performance.now();
  try {
    const result = await fn();
    console.log(`${prefix} ✓ ${label} (${elapsed(started)})`);
    return result;
  } catch (error) {
    console.log(`${prefix} ✗ ${label} (${elapsed(started)})`);
    throw error;
  }
}

/** Prints a note that is not a step (e.g. what was skipped and why). */
export function note(text) {
  console.log(`${prefix}   ${text}`);
}
