import type { CheckResult, Outcome, Report } from "@keyhole/conformance";
import { redact } from "@keyhole/core";

/** What a renderer needs to know about one check of the catalogue. */
export interface CheckInfo {
  /** Stable id, e.g. `"env.child-inherits"`. */
  id: string;
  /** One line saying what the check looks at (`""` for a check the catalogue does not know). */
  title: string;
  /** The seed figure it reproduces, e.g. `"fig. 4-2"`; absent for checks beyond the article. */
  figure?: string;
}

/**
 * The catalogue entries of `@keyhole/conformance` as renderers show them (`"4-2"` → `"fig. 4-2"`).
 *
 * @example
 * ```ts
 * import { CHECKS } from "@keyhole/conformance";
 * const checks = checkInfos(CHECKS);
 * ```
 */
export function checkInfos(
  definitions: readonly { id: string; title: string; seedFigure?: string }[],
): CheckInfo[] {
  return definitions.map((d) => ({
    id: d.id,
    title: d.title,
    ...(d.seedFigure ? { figure: `fig. ${d.seedFigure}` } : {}),
  }));
}

/** A row group of the matrix, in display order. */
export interface MatrixGroup {
  /** The id prefix of its checks (`env`, `file`, `rest`, `lifecycle`, `limits`, `hygiene`). */
  key: string;
  /** Heading shown above its rows. */
  title: string;
  rows: MatrixRow[];
}

/** One check across every available backend. */
export interface MatrixRow {
  check: CheckInfo;
  /** One cell per column, in column order; `undefined` where the check did not run. */
  cells: (CheckResult | undefined)[];
}

/** A backend that ran: one column of the matrix. */
export interface MatrixColumn {
  id: string;
  /** Engine name and version, e.g. `"podman 4.3.1"`. */
  engine: string;
  /** Workloads (containers) the suite started on it. */
  workloadStarts: number;
  /** Wall time of its pass, ms. */
  durationMs: number;
}

/** A backend that could not run, with the reason (which carries the fix). */
export interface UnavailableBackend {
  id: string;
  reason: string;
}

/** A report arranged for display: groups of rows × columns of available backends. */
export interface Matrix {
  columns: MatrixColumn[];
  groups: MatrixGroup[];
  unavailable: UnavailableBackend[];
  /** How many cells have each outcome. */
  totals: Record<Outcome, number>;
}

/** Row groups in display order; a check belongs to the group named by its id's prefix. */
export const GROUPS: readonly { key: string; title: string }[] = [
  { key: "env", title: "Environment variables" },
  { key: "file", title: "Files" },
  { key: "rest", title: "At rest" },
  { key: "lifecycle", title: "Lifecycle" },
  { key: "limits", title: "Limits" },
  { key: "once", title: "Read-once" },
  { key: "hygiene", title: "Hygiene" },
];

/**
 * Shown beside the legend: which delivery to prefer for secrets only an init step needs, next to
 * the engines' own deliveries (the `once.*` rows show where it holds).
 */
export const READ_ONCE_ADVICE =
  "For secrets only an init step needs, prefer read-once delivery ({ as: \"file\", once: true }) where a backend declares readOnce: a FIFO on a tmpfs of keyhole's own, fed from memory, gone (ENOENT) the moment its first reader opened it; never in the engine's secret store, on a disk, in a tmpfs file or in an environment. The engines' own file deliveries remain for secrets read more than once.";

/** Every outcome, in legend order. */
export const OUTCOMES: readonly Outcome[] = [
  "protected",
  "exposed",
  "unsupported",
  "unmeasurable",
  "error",
];

/** How each outcome reads in a cell, and what it means in the legend. */
export const OUTCOME_TEXT: Readonly<Record<Outcome, { label: string; meaning: string }>> = {
  protected: { label: "protected", meaning: "the probe could not get at the secret this way" },
  exposed: { label: "EXPOSED", meaning: "the probe got at the secret this way (a finding)" },
  unsupported: {
    label: "unsupported",
    meaning: "the backend cannot express this delivery and refused it with UNSUPPORTED_DELIVERY",
  },
  unmeasurable: {
    label: "unmeasurable",
    meaning:
      "keyhole cannot measure this check on this backend or machine (the reason says why); not a pass",
  },
  error: { label: "error", meaning: "the check could not finish; see its evidence" },
};

/**
 * Arranges `report` for display. Rows follow the order of `checks` (the catalogue); results
 * for checks the catalogue does not know (a newer suite, a third-party check) still appear,
 * grouped by their id's prefix, so nothing in a report is ever silently dropped. Only checks
 * that at least one backend ran get a row.
 */
export function buildMatrix(report: Report, checks: readonly CheckInfo[]): Matrix {
  const ran = report.backends.filter((b) => b.available);
  const columns = ran.map((b) => ({
    id: b.id,
    engine: [b.engine.name, b.engine.version].filter(Boolean).join(" "),
    workloadStarts: b.workloadStarts,
    durationMs: b.durationMs,
  }));
  const seen = new Set<string>();
  const ordered: CheckInfo[] = [];
  const known = new Map(checks.map((c) => [c.id, c]));
  for (const c of checks) {
    if (ran.some((b) => b.results.some((r) => r.check === c.id))) {
      ordered.push(c);
      seen.add(c.id);
    }
  }
  for (const b of ran) {
    for (const r of b.results) {
      if (seen.has(r.check)) continue;
      seen.add(r.check);
      ordered.push(known.get(r.check) ?? { id: r.check, title: "" });
    }
  }
  const totals: Record<Outcome, number> = {
    protected: 0,
    exposed: 0,
    unsupported: 0,
    unmeasurable: 0,
    error: 0,
  };
  const byKey = new Map<string, MatrixGroup>();
  for (const g of GROUPS) byKey.set(g.key, { ...g, rows: [] });
  for (const check of ordered) {
    const key = groupKey(check.id);
    let group = byKey.get(key);
    if (!group) {
      group = { key, title: key, rows: [] };
      byKey.set(key, group);
    }
    const cells = ran.map((b) => b.results.find((r) => r.check === check.id));
    for (const cell of cells) if (cell) totals[cell.outcome] += 1;
    group.rows.push({ check, cells });
  }
  return {
    columns,
    groups: [...byKey.values()].filter((g) => g.rows.length > 0),
    unavailable: report.backends
      .filter((b) => !b.available)
      .map((b) => ({ id: b.id, reason: b.unavailableReason ?? "not available (no reason given)" })),
    totals,
  };
}

/** The group a check id belongs to: the part before the first dot. */
export function groupKey(checkId: string): string {
  const dot = checkId.indexOf(".");
  return dot === -1 ? checkId : checkId.slice(0, dot);
}

/**
 * A result's evidence as display text, one block per probe step (`$ argv` with where and as
 * whom it ran, exit code, output, note), passed through {@link redact} once more: the suite
 * already redacts, and a renderer must never be the place a value slips through.
 */
export function evidenceText(result: CheckResult): string {
  const steps = result.evidence ?? [];
  const blocks = steps.map((e) => {
    const where =
      e.where === "container"
        ? `container${e.user === undefined ? "" : ` as uid ${e.user}`}`
        : "host";
    const lines = [`[${where}] $ ${e.argv.map(shellWord).join(" ")}`];
    if (e.exitCode !== undefined) lines.push(`exit code ${e.exitCode}`);
    if (e.stdout) lines.push(`stdout:\n${indent(e.stdout)}`);
    if (e.stderr) lines.push(`stderr:\n${indent(e.stderr)}`);
    if (e.note) lines.push(`note: ${e.note}`);
    return lines.join("\n");
  });
  return redact(blocks.join("\n\n"));
}

function shellWord(word: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function indent(text: string): string {
  return text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}

/** Why a result is `unsupported`, `unmeasurable` or `error` (redacted), or `""`. */
export function reasonText(result: CheckResult): string {
  return result.reason === undefined ? "" : redact(result.reason);
}

/**
 * Every result that contradicts its backend's declared capabilities or breaks an invariant, as
 * `"<backend> <check>: <sentence>"` lines. Any of them makes `keyhole compare` exit 1.
 */
export function contradictions(report: Report): string[] {
  return report.backends.flatMap((b) =>
    b.results.flatMap((r) =>
      r.contradiction ? [`${b.id} ${r.check}: ${redact(r.contradiction)}`] : [],
    ),
  );
}

/** A result's `observed` value as display text (redacted), or `""`. */
export function observedText(result: CheckResult): string {
  return result.observed === undefined ? "" : redact(String(result.observed));
}

/** `1234` → `"1.2 s"`, `850` → `"850 ms"`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms - m * 60_000) / 1000)} s`;
}

/**
 * One line summing up the outcomes, e.g.
 * `"30 protected · 8 EXPOSED · 4 unsupported · 0 unmeasurable · 0 error"`.
 */
export function totalsLine(totals: Record<Outcome, number>): string {
  return OUTCOMES.map((o) => `${totals[o]} ${OUTCOME_TEXT[o].label}`).join(" · ");
}
