import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { DiffableReport } from "./report-diff.js";
import { UsageError } from "./usage-error.js";

/**
 * The report schema versions `keyhole diff` reads: 1 (four outcomes) and 2 (adds
 * `unmeasurable`). A verdict is compared as its outcome string, so both diff against each other.
 */
export const READABLE_SCHEMA_VERSIONS: readonly number[] = [1, 2];

const MAKE_ONE = "write one with `keyhole compare --format json --out FILE`";

/**
 * Reads a JSON report written by `keyhole compare --format json` from `file` (relative to
 * `cwd`) and checks its shape. Throws {@link UsageError} (exit code 2) saying what to do when
 * the file is missing, is not JSON, is not a keyhole report, or has a schema version this
 * keyhole cannot read.
 *
 * @example
 * ```ts
 * const before = readReportFile("reports/main.json", process.cwd());
 * ```
 */
export function readReportFile(file: string, cwd: string): DiffableReport {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === "ENOENT"
        ? `${file}: no such file. Give the path of a JSON report (${MAKE_ONE}).`
        : `${file}: cannot read it (${code ?? String(error)}). Check the path and its permissions.`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(
      `${file} is not JSON, so not a keyhole report: diff reads reports written with --format json (${MAKE_ONE}); HTML, Markdown and table output cannot be compared.`,
    );
  }
  const problem = shapeProblem(data);
  if (problem !== undefined) {
    throw new UsageError(
      `${file} is not a keyhole report (${problem}). Give a JSON report (${MAKE_ONE}).`,
    );
  }
  const report = data as DiffableReport;
  if (!READABLE_SCHEMA_VERSIONS.includes(report.schemaVersion)) {
    const newer = report.schemaVersion > Math.max(...READABLE_SCHEMA_VERSIONS);
    throw new UsageError(
      `${file} has report schemaVersion ${report.schemaVersion}; this keyhole reads ${READABLE_SCHEMA_VERSIONS.join(" and ")}. ` +
        (newer
          ? "It was written by a newer keyhole: upgrade @keyhole/cli, or re-run `keyhole compare --format json` with this one to write both reports."
          : "Re-run `keyhole compare --format json` with this keyhole to write both reports."),
    );
  }
  return report;
}

/** What is wrong with `data` as a report, or undefined when it has every field diff reads. */
function shapeProblem(data: unknown): string | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return "not an object";
  const r = data as Record<string, unknown>;
  if (typeof r.schemaVersion !== "number") return "no schemaVersion";
  const tool = r.tool as Record<string, unknown> | undefined;
  if (typeof tool?.name !== "string" || typeof tool.version !== "string") return "no tool block";
  if (typeof r.startedAt !== "string") return "no startedAt";
  if (!Array.isArray(r.backends)) return "no backends list";
  for (const [i, b] of (r.backends as unknown[]).entries()) {
    const at = `backends[${i}]`;
    if (typeof b !== "object" || b === null) return `${at} is not an object`;
    const x = b as Record<string, unknown>;
    if (typeof x.id !== "string") return `${at} has no id`;
    if (typeof x.available !== "boolean") return `${at} has no available flag`;
    const engine = x.engine as Record<string, unknown> | undefined;
    if (typeof engine?.name !== "string" || typeof engine.version !== "string") {
      return `${at} has no engine name and version`;
    }
    if (!Array.isArray(x.results)) return `${at} has no results list`;
    for (const [j, res] of (x.results as unknown[]).entries()) {
      const y = res as Record<string, unknown> | null;
      if (typeof y?.check !== "string" || typeof y.outcome !== "string") {
        return `${at}.results[${j}] has no check and outcome`;
      }
    }
  }
  return undefined;
}
