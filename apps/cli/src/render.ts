import type { Report } from "@keyhole/conformance";
import { redact } from "@keyhole/core";
import type { CheckInfo } from "./matrix.js";
import { renderHtml } from "./render-html.js";
import { renderJson } from "./render-json.js";
import { renderMarkdown } from "./render-markdown.js";
import { renderTable } from "./render-table.js";

/** The report formats `keyhole compare --format` accepts. */
export const FORMATS = ["table", "markdown", "json", "html"] as const;

/** One of {@link FORMATS}. */
export type Format = (typeof FORMATS)[number];

/**
 * Renders `report` in `format`. Every renderer is pure (report → string); the result is
 * passed through `redact` once more so no registered secret value can reach any output.
 *
 * @example
 * ```ts
 * render("markdown", report, { checks: catalogue });
 * ```
 */
export function render(
  format: Format,
  report: Report,
  options: { checks: readonly CheckInfo[]; color?: boolean },
): string {
  switch (format) {
    case "table":
      return redact(renderTable(report, options));
    case "markdown":
      return redact(renderMarkdown(report, options));
    case "json":
      return renderJson(report);
    case "html":
      return redact(renderHtml(report, options));
  }
}

/** The format a file name implies (`.html`, `.md`, `.json`), or undefined. */
export function formatForFile(file: string): Format | undefined {
  const lower = file.toLowerCase();
  if (lower.endsWith(".html") || lower.endsWith(".htm")) return "html";
  if (lower.endsWith(".md") || lower.endsWith(".markdown")) return "markdown";
  if (lower.endsWith(".json")) return "json";
  return undefined;
}
