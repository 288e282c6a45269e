import type { BackendReport, Outcome } from "./report.js";

/**
 * Verdicts pinned per backend and engine version: `"<backend id>@<engine version>"` → check id
 * → outcome. Keys starting with `$` (e.g. `"$comment"`, or `"$<check id>"` in a row) are notes
 * and ignored. A list of outcomes pins a verdict the engine itself does not decide the same way
 * every run (its `$<check id>` note must say why).
 *
 * @example
 * ```json
 * { "podman-file@4.3.1": { "env.child-inherits": "exposed", "file.uid-gid-mode-honoured": "protected" } }
 * ```
 */
export type PinnedVerdicts = Readonly<
  Record<string, Readonly<Record<string, string | readonly string[]>>>
>;

/** The key of a backend's row in {@link PinnedVerdicts}: `"podman-file@4.3.1"`. */
export function pinKey(b: Pick<BackendReport, "id" | "engine">): string {
  return `${b.id}@${b.engine.version}`;
}

/** A backend's verdicts as a row for {@link PinnedVerdicts} (what to paste for a new engine version). */
export function pinRow(b: BackendReport): Record<string, Outcome> {
  return Object.fromEntries(b.results.map((r) => [r.check, r.outcome]));
}

/**
 * What differs between a backend's results and its pinned row: a missing row, a check that
 * is not pinned, an outcome that changed (with what was observed). Empty when every cell
 * matches. Checks pinned but not run are ignored (a narrower selection is not a change).
 *
 * @example
 * ```ts
 * const diff = pinnedDiff(report.backends[0]!, pinned);
 * if (diff.length > 0) throw new Error(diff.join("\n"));
 * ```
 */
export function pinnedDiff(b: BackendReport, pinned: PinnedVerdicts): string[] {
  const key = pinKey(b);
  const row = pinned[key];
  if (!row) {
    return [
      `No verdicts are pinned for ${key}. Check each against an independent experiment; if they are right, add this row: ${JSON.stringify({ [key]: pinRow(b) })}`,
    ];
  }
  const out: string[] = [];
  for (const r of b.results) {
    const pin = row[r.check];
    const want = pin === undefined ? undefined : typeof pin === "string" ? [pin] : [...pin];
    const why = r.observed ?? r.reason ?? "";
    if (want === undefined) {
      out.push(
        `${key} ${r.check}: not pinned (now ${r.outcome}${why ? `: ${why}` : ""}); add "${r.check}": "${r.outcome}" once it is verified.`,
      );
    } else if (want.length > 1 && typeof row[`$${r.check}`] !== "string") {
      out.push(
        `${key} ${r.check}: pinned to ${want.join(" or ")} without a "$${r.check}" note saying why it varies.`,
      );
    } else if (!want.includes(r.outcome)) {
      out.push(
        `${key} ${r.check}: pinned ${want.join(" or ")}, now ${r.outcome}${why ? ` (${why})` : ""}. Explain the change, then update the pinned row.`,
      );
    }
  }
  return out;
}
