import { redact } from "@keyhole/core";
import { padVisible, paint, type Style } from "./ansi.js";
import { escapeCell } from "./render-markdown.js";
import type {
  DiffableReport,
  ReportDiff,
  VerdictChange,
  VerdictChangeKind,
} from "./report-diff.js";

/** The formats `keyhole diff --format` accepts. */
export const DIFF_FORMATS = ["table", "markdown", "json"] as const;

/** One of {@link DIFF_FORMATS}. */
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** One side of a diff as its renderers name it: the file it came from and the report. */
export interface DiffSide {
  /** The path as the user gave it. */
  file: string;
  report: DiffableReport;
}

/** Version of the JSON shape {@link renderDiff} writes with `json`. */
export const DIFF_SCHEMA_VERSION = 1 as const;

const LABEL: Readonly<Record<VerdictChangeKind, string>> = {
  worse: "WORSE",
  unknown: "unknown",
  changed: "changed",
  better: "better",
};

const STYLE: Readonly<Record<VerdictChangeKind, Style[]>> = {
  worse: ["red", "bold"],
  unknown: ["yellow", "bold"],
  changed: [],
  better: ["green"],
};

/**
 * Renders a {@link ReportDiff} as a terminal table, GitHub Markdown or JSON (`kind:
 * "keyhole-diff"`, the diff plus both reports' tool, start time and schema version). Pure;
 * the text is passed through `redact` as a last guard.
 *
 * @example
 * ```ts
 * process.stdout.write(renderDiff("markdown", diff, before, after));
 * ```
 */
export function renderDiff(
  format: DiffFormat,
  diff: ReportDiff,
  before: DiffSide,
  after: DiffSide,
  options: { color?: boolean } = {},
): string {
  switch (format) {
    case "table":
      return redact(diffTable(diff, before, after, options.color ?? false));
    case "markdown":
      return redact(diffMarkdown(diff, before, after));
    case "json":
      return `${redact(
        JSON.stringify(
          {
            kind: "keyhole-diff",
            diffSchemaVersion: DIFF_SCHEMA_VERSION,
            before: side(before),
            after: side(after),
            worse: diff.changes.some((c) => c.change === "worse"),
            ...diff,
          },
          null,
          2,
        ),
      )}\n`;
  }
}

function side(s: DiffSide) {
  return {
    file: s.file,
    tool: s.report.tool,
    startedAt: s.report.startedAt,
    schemaVersion: s.report.schemaVersion,
  };
}

function sideText(s: DiffSide): string {
  return `${s.file} (${s.report.tool.name} ${s.report.tool.version}, ${s.report.startedAt})`;
}

/** `podman-file · podman 4.3.1` or, across an engine change, `podman-file · podman 4.3.1 → 5.4.2`. */
export function columnText(c: VerdictChange): string {
  if (c.engineBefore === c.engineAfter) return `${c.backend} · ${c.engineAfter}`;
  const [nb, ...vb] = c.engineBefore.split(" ");
  const [na, ...va] = c.engineAfter.split(" ");
  if (nb === na) return `${c.backend} · ${nb} ${vb.join(" ")} → ${va.join(" ")}`;
  return `${c.backend} · ${c.engineBefore} → ${c.engineAfter}`;
}

function outcomeText(outcome: string): string {
  return outcome === "exposed" ? "EXPOSED" : outcome;
}

/** `"2 changed (1 worse, 1 better) · 40 unchanged"`. */
export function summaryLine(diff: ReportDiff): string {
  const counts = (Object.keys(LABEL) as VerdictChangeKind[])
    .map((k) => [k, diff.changes.filter((c) => c.change === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  const changed =
    diff.changes.length === 0
      ? "no verdict changed"
      : `${diff.changes.length} verdict${diff.changes.length === 1 ? "" : "s"} changed (${counts.join(", ")})`;
  return `${changed} · ${diff.unchanged} unchanged`;
}

function notCompared(diff: ReportDiff): string[] {
  const lines: string[] = [];
  const cols = (xs: { backend: string; engine: string }[]) =>
    xs.map((x) => `${x.backend} · ${x.engine}`).join(", ");
  if (diff.onlyBefore.length > 0) lines.push(`only in the first report: ${cols(diff.onlyBefore)}`);
  if (diff.onlyAfter.length > 0) lines.push(`only in the second report: ${cols(diff.onlyAfter)}`);
  if (diff.checksOnlyBefore.length > 0) {
    lines.push(`${diff.checksOnlyBefore.length} check result(s) only in the first report`);
  }
  if (diff.checksOnlyAfter.length > 0) {
    lines.push(`${diff.checksOnlyAfter.length} check result(s) only in the second report`);
  }
  return lines;
}

/** The closing sentence: what the exit code will say. */
export function verdictLine(diff: ReportDiff): string {
  const worse = diff.changes.filter((c) => c.change === "worse").length;
  const unknown = diff.changes.filter((c) => c.change === "unknown").length;
  if (worse > 0) {
    return `${worse} verdict${worse === 1 ? "" : "s"} got worse (now EXPOSED).`;
  }
  if (unknown > 0) {
    return `Nothing got worse that could be measured, but ${unknown} verdict${unknown === 1 ? "" : "s"} could not be measured in the second report.`;
  }
  return "Nothing got worse.";
}

function diffTable(diff: ReportDiff, before: DiffSide, after: DiffSide, color: boolean): string {
  const lines: string[] = [];
  lines.push(paint(color, "keyhole diff", "bold"));
  lines.push(`  first:  ${sideText(before)}`);
  lines.push(`  second: ${sideText(after)}`);
  lines.push("");
  if (diff.changes.length > 0) {
    const header = ["change", "backend · engine", "check", "first", "second"];
    const rows = diff.changes.map((c) => [
      LABEL[c.change],
      columnText(c),
      c.check,
      outcomeText(c.before),
      outcomeText(c.after),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) =>
      cells
        .map((cell, i) => padVisible(cell, widths[i]!))
        .join("  ")
        .trimEnd();
    lines.push(paint(color, line(header), "bold"));
    diff.changes.forEach((c, i) => {
      const r = rows[i]!;
      lines.push(line([paint(color, r[0]!, ...STYLE[c.change]), ...r.slice(1)]));
    });
    const unavailable = diff.changes.filter((c) => c.after === "unavailable");
    const reasons = new Map(unavailable.map((c) => [c.backend, c.observedAfter ?? ""]));
    for (const [backend, reason] of reasons) {
      lines.push(`${paint(color, `${backend} not run in the second report:`, "yellow")} ${reason}`);
    }
    lines.push("");
  }
  lines.push(summaryLine(diff));
  for (const l of notCompared(diff)) lines.push(paint(color, `Not compared: ${l}`, "dim"));
  const worse = diff.changes.some((c) => c.change === "worse");
  lines.push(paint(color, verdictLine(diff), ...(worse ? (["red", "bold"] as Style[]) : [])));
  return `${lines.join("\n")}\n`;
}

function diffMarkdown(diff: ReportDiff, before: DiffSide, after: DiffSide): string {
  const out: string[] = [];
  out.push("## keyhole diff: verdicts that changed");
  out.push("");
  const meta = (s: DiffSide) =>
    escapeCell(`${s.report.tool.name} ${s.report.tool.version}, ${s.report.startedAt}`);
  out.push(`First: \`${escapeCell(before.file)}\` (${meta(before)})<br>`);
  out.push(`Second: \`${escapeCell(after.file)}\` (${meta(after)})`);
  out.push("");
  if (diff.changes.length > 0) {
    out.push("| change | backend · engine | check | first | second |");
    out.push("| --- | --- | --- | --- | --- |");
    for (const c of diff.changes) {
      const change = c.change === "worse" ? "❌ **WORSE**" : escapeCell(LABEL[c.change]);
      const second =
        c.after === "exposed"
          ? "**EXPOSED**"
          : escapeCell(outcomeText(c.after)) +
            (c.after === "unavailable" && c.observedAfter
              ? `<br><sub>${escapeCell(c.observedAfter)}</sub>`
              : "");
      out.push(
        `| ${change} | ${escapeCell(columnText(c))} | \`${c.check}\` | ${escapeCell(outcomeText(c.before))} | ${second} |`,
      );
    }
    out.push("");
  }
  out.push(`**${escapeCell(summaryLine(diff))}**`);
  out.push("");
  const nc = notCompared(diff);
  if (nc.length > 0) {
    out.push("Not compared:");
    out.push("");
    for (const l of nc) out.push(`- ${escapeCell(l)}`);
    out.push("");
  }
  out.push(escapeCell(verdictLine(diff)));
  out.push("");
  return out.join("\n");
}
