import type { BackendReport, Outcome, Report } from "@keyhole/conformance";

/** One check of one backend whose outcome differs between engine generations. */
export interface GenerationDifference {
  /** The backend id, e.g. `"podman-file"`. */
  backend: string;
  /** The check id. */
  check: string;
  /** Each generation's engine (`"podman 5.4.2"`) and outcome, in column order. */
  outcomes: { engine: string; outcome: Outcome; observed?: string }[];
}

/**
 * Where the same backend id ran on two or more engine versions and a check's outcome differs
 * between them. Pure.
 */
export function generationDifferences(report: Report): GenerationDifference[] {
  const byId = new Map<string, BackendReport[]>();
  for (const b of report.backends.filter((x) => x.available)) {
    byId.set(b.id, [...(byId.get(b.id) ?? []), b]);
  }
  const out: GenerationDifference[] = [];
  for (const [id, columns] of byId) {
    if (columns.length < 2) continue;
    const checks = [...new Set(columns.flatMap((c) => c.results.map((r) => r.check)))];
    for (const check of checks) {
      const outcomes = columns.flatMap((c) => {
        const r = c.results.find((x) => x.check === check);
        return r
          ? [
              {
                engine: `${c.engine.name} ${c.engine.version}`,
                outcome: r.outcome,
                ...(r.observed ? { observed: r.observed } : {}),
              },
            ]
          : [];
      });
      if (new Set(outcomes.map((o) => o.outcome)).size > 1)
        out.push({ backend: id, check, outcomes });
    }
  }
  return out;
}

/** The differences as text lines, e.g. `podman-file env.engine-inspect-shows: podman 4.3.1 EXPOSED, podman 5.4.2 protected`. */
export function generationLines(diffs: readonly GenerationDifference[]): string[] {
  return diffs.map(
    (d) =>
      `${d.backend} ${d.check}: ${d.outcomes.map((o) => `${o.engine} ${o.outcome === "exposed" ? "EXPOSED" : o.outcome}${o.observed ? ` (${o.observed})` : ""}`).join(" vs ")}`,
  );
}
