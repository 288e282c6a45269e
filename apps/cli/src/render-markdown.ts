import type { CheckResult, Outcome, Report } from "@keyhole/conformance";
import {
  buildMatrix,
  type CheckInfo,
  contradictions,
  formatDuration,
  OUTCOME_TEXT,
  OUTCOMES,
  observedText,
  reasonText,
  totalsLine,
} from "./matrix.js";

/** Options of {@link renderMarkdown}. */
export interface MarkdownOptions {
  /** The check catalogue (titles, seed figures, row order). */
  checks: readonly CheckInfo[];
}

const MARK: Readonly<Record<Outcome, string>> = {
  protected: "✅",
  exposed: "❌",
  unsupported: "➖",
  unmeasurable: "❔",
  error: "⚠️",
};

/**
 * Renders a report as GitHub-flavoured Markdown, ready to paste into a pull request: a
 * heading, one table per group (check, seed figure, one column per backend; each cell the
 * outcome and the observed value), the totals, the legend, and the backends that could not
 * run with their fix. Pure.
 *
 * @example
 * ```ts
 * writeFileSync("keyhole.md", renderMarkdown(report, { checks: catalogue }));
 * ```
 */
export function renderMarkdown(report: Report, options: MarkdownOptions): string {
  const m = buildMatrix(report, options.checks);
  const out: string[] = [];
  out.push("## keyhole: who inside the container can read the secret?");
  out.push("");
  out.push(
    `${escapeCell(report.tool.name)} ${escapeCell(report.tool.version)} · started ${escapeCell(report.startedAt)} · took ${formatDuration(report.durationMs)}`,
  );
  out.push("");
  if (m.columns.length === 0) {
    out.push("**No backend ran.**");
    out.push("");
  }
  for (const g of m.groups) {
    out.push(`### ${escapeCell(g.title)}`);
    out.push("");
    out.push(`| check | seed | ${m.columns.map((c) => `\`${c.id}\``).join(" | ")} |`);
    out.push(`| --- | --- | ${m.columns.map(() => "---").join(" | ")} |`);
    for (const r of g.rows) {
      const cells = r.cells.map((cell) => (cell ? cellText(cell) : "—"));
      out.push(
        `| \`${r.check.id}\`${r.check.title ? `<br>${escapeCell(r.check.title)}` : ""} | ${escapeCell(r.check.figure ?? "")} | ${cells.join(" | ")} |`,
      );
    }
    out.push("");
  }
  if (m.columns.length > 0) {
    out.push(
      `**${totalsLine(m.totals)}** across ${m.columns.map((c) => `\`${c.id}\` (${escapeCell(c.engine)})`).join(", ")}.`,
    );
    out.push("");
    out.push(
      OUTCOMES.map(
        (o) => `${MARK[o]} **${OUTCOME_TEXT[o].label}**: ${OUTCOME_TEXT[o].meaning}`,
      ).join("<br>\n"),
    );
    out.push("");
  }
  const errored = m.groups.flatMap((g) =>
    g.rows.flatMap((r) =>
      r.cells.flatMap((cell, i) =>
        cell?.outcome === "error" || cell?.outcome === "unmeasurable"
          ? [
              `- \`${m.columns[i]?.id}\` \`${r.check.id}\`: ${cell.outcome === "unmeasurable" ? "unmeasurable: " : ""}${escapeCell(reasonText(cell) || observedText(cell) || "see the report's evidence")}`,
            ]
          : [],
      ),
    ),
  );
  if (errored.length > 0) {
    out.push("**Checks that could not finish or be measured:**");
    out.push("");
    out.push(...errored);
    out.push("");
  }
  const contra = contradictions(report);
  if (contra.length > 0) {
    out.push("**⛔ Contradicts the backend's declared capabilities:**");
    out.push("");
    out.push(...contra.map((c) => `- ${escapeCell(c)}`));
    out.push("");
  }
  if (m.unavailable.length > 0) {
    out.push("**Not run:**");
    out.push("");
    for (const u of m.unavailable) out.push(`- \`${u.id}\`: ${escapeCell(u.reason)}`);
    out.push("");
  }
  return out.join("\n");
}

function cellText(cell: CheckResult): string {
  const label =
    `${MARK[cell.outcome]} ${cell.outcome === "exposed" ? "**EXPOSED**" : OUTCOME_TEXT[cell.outcome].label}` +
    (cell.contradiction ? " ⛔" : "");
  const observed = observedText(cell);
  return observed ? `${label}<br><sub>${escapeCell(observed)}</sub>` : label;
}

/** Escapes text for a Markdown table cell: pipes, HTML, backticks and newlines. */
export function escapeCell(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\|/g, "\\|")
    .replace(/`/g, "\\`")
    .replace(/\r?\n/g, " ");
}
