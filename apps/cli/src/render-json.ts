import type { Report } from "@keyhole/conformance";
import { redact } from "@keyhole/core";

/**
 * Renders a report as JSON: exactly the conformance suite's report schema (pretty-printed,
 * newline-terminated), plus `generationDifferences` when the same backend ran on two engine
 * generations with different verdicts, passed through `redact` as a last guard. Pure.
 *
 * @example
 * ```ts
 * const report = JSON.parse(renderJson(report)); // round-trips
 * ```
 */
export function renderJson(
  report: Report & { generationDifferences?: readonly unknown[] },
): string {
  return `${redact(JSON.stringify(report, null, 2))}\n`;
}
