import type { Outcome, Report } from "@keyhole/conformance";
import { padVisible, paint, type Style } from "./ansi.js";
import {
  buildMatrix,
  type CheckInfo,
  contradictions,
  formatDuration,
  OUTCOME_TEXT,
  OUTCOMES,
  observedText,
  reasonText,
} from "./matrix.js";

/** Options of {@link renderTable}. */
export interface TableOptions {
  /** The check catalogue (titles, seed figures, row order). */
  checks: readonly CheckInfo[];
  /** Colour the cells with ANSI codes. Default false. */
  color?: boolean;
}

const STYLE: Readonly<Record<Outcome, Style[]>> = {
  protected: ["green"],
  exposed: ["red", "bold"],
  unsupported: ["gray"],
  unmeasurable: ["magenta"],
  error: ["yellow", "bold"],
};

/**
 * Renders a report as a terminal table: rows = checks grouped env / file / at rest /
 * lifecycle / limits / hygiene, columns = backends that ran, cells = protected / EXPOSED /
 * unsupported / error; then the totals, a legend, and one line per backend that could not
 * run with its reason and fix. Pure: the same report gives the same text.
 *
 * @example
 * ```ts
 * process.stdout.write(renderTable(report, { checks: catalogue, color: process.stdout.isTTY }));
 * ```
 */
export function renderTable(report: Report, options: TableOptions): string {
  const color = options.color ?? false;
  const m = buildMatrix(report, options.checks);
  const lines: string[] = [];
  lines.push(
    paint(color, `${report.tool.name} ${report.tool.version}`, "bold") +
      ` · ${report.startedAt} · ${formatDuration(report.durationMs)}`,
  );
  lines.push("");
  if (m.columns.length > 0) {
    const idWidth = Math.max(
      ...m.groups.flatMap((g) => [g.title.length - 2, ...g.rows.map((r) => r.check.id.length)]),
    );
    const figWidth = Math.max(
      0,
      ...m.groups.flatMap((g) => g.rows.map((r) => (r.check.figure ?? "").length)),
    );
    const firstWidth = 2 + idWidth + (figWidth > 0 ? 2 + figWidth : 0);
    const label = (id: string, figure?: string) =>
      figWidth > 0 ? `${id.padEnd(idWidth)}  ${figure ?? ""}` : id;
    const widths = m.columns.map((c) =>
      Math.max(
        c.id.length,
        c.engine.length,
        ...OUTCOMES.map((o) => OUTCOME_TEXT[o].label.length + 1),
      ),
    );
    const row = (first: string, cells: string[]) =>
      [padVisible(first, firstWidth), ...cells.map((c, i) => padVisible(c, widths[i] ?? 0))]
        .join("  ")
        .trimEnd();
    lines.push(
      row(
        "",
        m.columns.map((c) => paint(color, c.id, "bold")),
      ),
    );
    lines.push(
      row(
        "",
        m.columns.map((c) => paint(color, c.engine, "dim")),
      ),
    );
    for (const g of m.groups) {
      lines.push(paint(color, g.title, "bold"));
      for (const r of g.rows) {
        const cells = r.cells.map((cell) =>
          cell
            ? paint(
                color,
                // A trailing "!" marks a result that contradicts the declared capabilities.
                OUTCOME_TEXT[cell.outcome].label + (cell.contradiction ? "!" : ""),
                ...STYLE[cell.outcome],
              )
            : paint(color, "-", "dim"),
        );
        lines.push(row(`  ${label(r.check.id, r.check.figure)}`, cells));
      }
    }
    lines.push("");
    lines.push(
      OUTCOMES.map((o) =>
        paint(color, `${m.totals[o]} ${OUTCOME_TEXT[o].label}`, ...STYLE[o]),
      ).join(" · "),
    );
    const errored = m.groups.flatMap((g) =>
      g.rows.flatMap((r) =>
        r.cells.flatMap((cell, i) =>
          cell?.outcome === "error" || cell?.outcome === "unmeasurable"
            ? [
                `  ${m.columns[i]?.id} ${r.check.id}: ${cell.outcome === "unmeasurable" ? "unmeasurable: " : ""}${reasonText(cell) || observedText(cell) || "see the report's evidence"}`,
              ]
            : [],
        ),
      ),
    );
    if (errored.length > 0) {
      lines.push(paint(color, "Checks that could not finish or be measured:", "yellow", "bold"));
      lines.push(...errored);
    }
    const contra = contradictions(report);
    if (contra.length > 0) {
      lines.push(
        paint(color, "Contradicts the backend's declared capabilities (!):", "red", "bold"),
      );
      lines.push(...contra.map((c) => `  ${c}`));
    }
    lines.push(
      paint(
        color,
        m.columns
          .map(
            (c) =>
              `${c.id}: ${c.workloadStarts} workload${c.workloadStarts === 1 ? "" : "s"}, ${formatDuration(c.durationMs)}`,
          )
          .join(" · "),
        "dim",
      ),
    );
  } else {
    lines.push(paint(color, "No backend ran.", "yellow", "bold"));
  }
  for (const u of m.unavailable) {
    lines.push(`${paint(color, `${u.id} not run:`, "yellow")} ${u.reason}`);
  }
  return `${lines.join("\n")}\n`;
}
