import type { Report } from "@keyhole/conformance";
import { redact } from "@keyhole/core";
import { generationDifferences, generationLines } from "./generations.js";
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
  // The same backend on two engine generations: where its verdicts differ is the finding.
  const diffs = generationDifferences(report);
  const lines = generationLines(diffs);
  const title = "Differences between engine generations (same backend, another engine version):";
  switch (format) {
    case "table":
      return redact(
        renderTable(report, options) +
          (lines.length ? `\n${title}\n${lines.map((l) => `  ≠ ${l}`).join("\n")}\n` : ""),
      );
    case "markdown":
      return redact(
        renderMarkdown(report, options) +
          (lines.length
            ? `\n## ${title}\n\n${lines.map((l) => `- ≠ ${l.replace(/\|/g, "\\|")}`).join("\n")}\n`
            : ""),
      );
    case "json":
      return renderJson(diffs.length ? { ...report, generationDifferences: diffs } : report);
    case "html": {
      const html = renderHtml(report, options);
      if (!lines.length) return redact(html);
      const esc = (t: string) =>
        t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
      const section = `<section id="generations"><h2>${esc(title)}</h2><ul>${lines.map((l) => `<li class="generation-diff">≠ ${esc(l)}</li>`).join("")}</ul></section>`;
      const at = html.lastIndexOf("</body>");
      return redact(at === -1 ? html + section : html.slice(0, at) + section + html.slice(at));
    }
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
