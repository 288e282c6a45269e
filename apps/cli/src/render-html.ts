import type { CheckResult, Report } from "@keyhole/conformance";
import {
  buildMatrix,
  type CheckInfo,
  contradictions,
  evidenceText,
  formatDuration,
  OUTCOME_TEXT,
  OUTCOMES,
  observedText,
  READ_ONCE_ADVICE,
  reasonText,
  totalsLine,
} from "./matrix.js";

/** Options of {@link renderHtml}. */
export interface HtmlOptions {
  /** The check catalogue (titles, seed figures, row order). */
  checks: readonly CheckInfo[];
}

/**
 * Renders a report as ONE self-contained HTML file: inline CSS and a few lines of inline
 * script, no fonts, images or other fetches (a Content-Security-Policy forbids them). It holds
 * the matrix with coloured cells, a legend, the seed figure of each check, each cell's evidence
 * one click away (a `<dialog>` per cell, closable without script), the backends' declared
 * capabilities and the backends that could not run. Pure.
 *
 * @example
 * ```ts
 * writeFileSync("reports/keyhole-report.html", renderHtml(report, { checks: catalogue }));
 * ```
 */
export function renderHtml(report: Report, options: HtmlOptions): string {
  const m = buildMatrix(report, options.checks);
  const dialogs: string[] = [];
  const head = m.columns
    .map(
      (c) =>
        `<th scope="col">${esc(c.id)}<small>${esc(c.engine)}</small><small>${c.workloadStarts} workloads · ${esc(formatDuration(c.durationMs))}</small></th>`,
    )
    .join("");
  const bodies = m.groups
    .map((g) => {
      const rows = g.rows
        .map((r) => {
          const cells = r.cells
            .map((cell, i) => {
              const column = m.columns[i];
              if (!cell || !column) return `<td class="cell none">—</td>`;
              const id = `ev-${dialogs.length}`;
              dialogs.push(evidenceDialog(id, r.check, column.id, cell));
              const observed = observedText(cell);
              return (
                `<td class="cell ${cell.outcome}${cell.contradiction ? " contradiction" : ""}" data-backend="${esc(column.id)}" data-outcome="${cell.outcome}">` +
                `<button type="button" data-open="${id}" aria-haspopup="dialog" title="Show the evidence">` +
                `<span class="label">${esc(OUTCOME_TEXT[cell.outcome].label)}</span>` +
                (cell.contradiction
                  ? `<span class="flag" title="contradicts the declared capabilities">⛔</span>`
                  : "") +
                (observed ? `<small>${esc(observed)}</small>` : "") +
                `</button></td>`
              );
            })
            .join("");
          return (
            `<tr data-check="${esc(r.check.id)}"><th scope="row"><code>${esc(r.check.id)}</code>` +
            (r.check.title ? `<span class="title">${esc(r.check.title)}</span>` : "") +
            `</th>` +
            `<td class="fig">${esc(r.check.figure ?? "")}</td>${cells}</tr>`
          );
        })
        .join("\n");
      return `<tbody><tr class="group"><th colspan="${m.columns.length + 2}" scope="rowgroup">${esc(g.title)}</th></tr>\n${rows}\n</tbody>`;
    })
    .join("\n");
  const legend = OUTCOMES.map(
    (o) =>
      `<li><span class="swatch ${o}">${esc(OUTCOME_TEXT[o].label)}</span> ${esc(OUTCOME_TEXT[o].meaning)}</li>`,
  ).join("");
  const unavailable =
    m.unavailable.length === 0
      ? ""
      : `<section class="unavailable"><h2>Not run</h2><ul>${m.unavailable
          .map((u) => `<li><code>${esc(u.id)}</code> ${esc(u.reason)}</li>`)
          .join("")}</ul></section>`;
  const contra = contradictions(report);
  const contraBlock =
    contra.length === 0
      ? ""
      : `<section class="contradictions"><h2>⛔ Contradicts the declared capabilities</h2><ul>${contra
          .map((c) => `<li>${esc(c)}</li>`)
          .join("")}</ul></section>`;
  const matrix =
    m.columns.length === 0
      ? `<p class="empty">No backend ran.</p>`
      : `<table id="matrix" class="matrix"><thead><tr><th scope="col">check</th><th scope="col">seed</th>${head}</tr></thead>\n${bodies}\n</table>
<p class="totals">${esc(totalsLine(m.totals))}</p>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>keyhole report · ${esc(report.startedAt)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>keyhole: who inside the container can read the secret?</h1>
<p class="meta">${esc(report.tool.name)} ${esc(report.tool.version)} · started ${esc(report.startedAt)} · took ${esc(formatDuration(report.durationMs))} · report schema ${esc(String(report.schemaVersion))}</p>
</header>
<main>
<ul class="legend">${legend}</ul>
<p class="hint once">${esc(READ_ONCE_ADVICE)}</p>
<p class="hint">Click a cell to see what the probe ran and saw.</p>
${contraBlock}
${matrix}
${unavailable}
${capabilitiesTable(report)}
</main>
${dialogs.join("\n")}
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function evidenceDialog(
  id: string,
  check: CheckInfo,
  backendId: string,
  cell: CheckResult,
): string {
  const observed = observedText(cell);
  const reason = reasonText(cell);
  const evidence = evidenceText(cell);
  return (
    `<dialog id="${id}" class="evidence" aria-labelledby="${id}-h">` +
    `<h2 id="${id}-h"><code>${esc(check.id)}</code> on <code>${esc(backendId)}</code></h2>` +
    `<p>${esc(check.title)}${check.figure ? ` <span class="fig">(${esc(check.figure)})</span>` : ""}</p>` +
    `<dl><dt>outcome</dt><dd><span class="swatch ${cell.outcome}">${esc(OUTCOME_TEXT[cell.outcome].label)}</span></dd>` +
    (observed ? `<dt>observed</dt><dd><code>${esc(observed)}</code></dd>` : "") +
    (reason ? `<dt>reason</dt><dd>${esc(reason)}</dd>` : "") +
    (cell.contradiction
      ? `<dt>contradiction</dt><dd class="contradiction">${esc(cell.contradiction)}</dd>`
      : "") +
    `<dt>took</dt><dd>${esc(formatDuration(cell.durationMs))}</dd></dl>` +
    (evidence ? `<pre>${esc(evidence)}</pre>` : `<p class="none">No evidence recorded.</p>`) +
    `<form method="dialog"><button type="submit" autofocus>Close</button></form></dialog>`
  );
}

function capabilitiesTable(report: Report): string {
  const ran = report.backends.filter((b) => b.available);
  if (ran.length === 0) return "";
  const keys = [...new Set(ran.flatMap((b) => Object.keys(b.capabilities)))];
  const rows = keys
    .map((k) => {
      const cells = ran
        .map((b) => {
          const v = (b.capabilities as unknown as Record<string, unknown>)[k];
          return `<td>${esc(v === true ? "yes" : v === false ? "no" : String(v ?? "—"))}</td>`;
        })
        .join("");
      return `<tr><th scope="row"><code>${esc(k)}</code></th>${cells}</tr>`;
    })
    .join("");
  return `<details class="caps"><summary>Declared capabilities</summary><table><thead><tr><th></th>${ran
    .map((b) => `<th scope="col">${esc(b.id)}</th>`)
    .join("")}</tr></thead><tbody>${rows}</tbody></table></details>`;
}

/** Escapes text for HTML element content and double-quoted attribute values. */
export function esc(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const CSS = `
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#5b636e;--line:#d7dce2;
--protected:#1e7a34;--protected-bg:#dcf3e1;--exposed:#a3150b;--exposed-bg:#fbd5d0;
--unsupported:#59606a;--unsupported-bg:#eceff2;--unmeasurable:#6b3fa0;--unmeasurable-bg:#efe6fa;--error:#7a5200;--error-bg:#fde8b0}
@media (prefers-color-scheme:dark){:root{--fg:#e6e9ed;--bg:#14171b;--muted:#9aa3ad;--line:#343a42;
--protected:#8fe0a3;--protected-bg:#143d22;--exposed:#ffb4aa;--exposed-bg:#5a1711;
--unsupported:#b5bcc4;--unsupported-bg:#2a2f36;--unmeasurable:#d6b8ff;--unmeasurable-bg:#35264a;--error:#ffd77a;--error-bg:#4a3600}}
*{box-sizing:border-box}
body{margin:0;padding:1.5rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.35rem;margin:0 0 .25rem}
.meta,.hint,.totals{color:var(--muted);margin:.25rem 0 1rem}
.legend{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;list-style:none;padding:0;margin:1rem 0}
.swatch{display:inline-block;padding:.05rem .45rem;border-radius:.25rem;font-weight:600}
.swatch.protected,.cell.protected button{color:var(--protected);background:var(--protected-bg)}
.swatch.exposed,.cell.exposed button{color:var(--exposed);background:var(--exposed-bg)}
.swatch.unsupported,.cell.unsupported button{color:var(--unsupported);background:var(--unsupported-bg)}
.swatch.unmeasurable,.cell.unmeasurable button{color:var(--unmeasurable);background:var(--unmeasurable-bg)}
.swatch.error,.cell.error button{color:var(--error);background:var(--error-bg)}
.exposed .label,.swatch.exposed{text-transform:uppercase;letter-spacing:.03em}
table.matrix{border-collapse:collapse;width:100%}
.matrix th,.matrix td{border-bottom:1px solid var(--line);padding:.3rem .4rem;text-align:left;vertical-align:top}
.matrix thead th{position:sticky;top:0;background:var(--bg);font-size:.95rem}
.matrix thead small{display:block;font-weight:400;color:var(--muted)}
.matrix tr.group th{padding-top:1rem;font-size:1.02rem;border-bottom:2px solid var(--line)}
.matrix th[scope=row] code{font-weight:600}
.matrix th[scope=row] .title{display:block;font-weight:400;color:var(--muted);font-size:.85rem}
td.fig{white-space:nowrap;color:var(--muted)}
.cell button{all:unset;box-sizing:border-box;display:block;width:100%;min-width:7.5rem;padding:.3rem .5rem;border-radius:.3rem;cursor:pointer;font-weight:600}
.cell button:focus-visible{outline:2px solid currentColor;outline-offset:1px}
.cell button small{display:block;font-weight:400;font-size:.78rem;overflow-wrap:anywhere;opacity:.9}
.cell.none{color:var(--muted)}
dialog.evidence{max-width:min(60rem,92vw);border:1px solid var(--line);border-radius:.5rem;color:var(--fg);background:var(--bg);padding:1rem 1.25rem}
dialog.evidence::backdrop{background:rgb(0 0 0 / .45)}
dialog h2{font-size:1.05rem;margin:0 0 .5rem}
dialog dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:.5rem 0}
dialog dt{color:var(--muted)}
dialog dd{margin:0}
dialog pre{max-height:55vh;overflow:auto;padding:.6rem;border-radius:.35rem;background:var(--unsupported-bg);white-space:pre-wrap;word-break:break-all;font-size:.8rem}
.unavailable li{margin:.3rem 0}
.cell .flag{margin-left:.35rem}
.contradictions{border:2px solid var(--exposed);border-radius:.4rem;padding:.2rem 1rem;margin:1rem 0}
dd.contradiction{color:var(--exposed);font-weight:600}
details.caps{margin-top:1.5rem}
details.caps table{border-collapse:collapse;margin-top:.5rem}
details.caps th,details.caps td{border-bottom:1px solid var(--line);padding:.2rem .6rem;text-align:left}
`;

// Opens a cell's dialog; a click on the backdrop closes it. The Close button works without script.
const SCRIPT = `
document.addEventListener("click", function (event) {
  var opener = event.target.closest && event.target.closest("[data-open]");
  if (opener) { document.getElementById(opener.getAttribute("data-open")).showModal(); return; }
  if (event.target.tagName === "DIALOG") event.target.close();
});
`;
