import { STEPS } from "./engines.js";
import type { FloorResult } from "./floor.js";
import type { HeadlineResult } from "./headline.js";
import type { MachineInfo } from "./machine.js";
import type { PerOpResult } from "./per-op.js";
import type { ScalingSeries } from "./scaling.js";
import { fmtMs, fmtRatio, fmtSummaryMs, fmtSummaryRatio, median } from "./stats.js";

/** Everything one `npm run bench` measured; written as JSON next to the Markdown. */
export interface BenchResult {
  schemaVersion: 1;
  startedAt: string;
  durationMs: number;
  runId: string;
  machine: MachineInfo;
  /** 1-minute load average when the bench ended. */
  loadAtEnd: number;
  settings: Record<string, unknown>;
  headline?: HeadlineResult | { error: string };
  floor?: FloorResult | { error: string };
  perOperation?: Array<PerOpResult | { backend: string; error: string }>;
  scaling?: ScalingSeries[];
}

/** Renders a {@link BenchResult} as the Markdown committed under bench/results/. */
export function renderMarkdown(r: BenchResult): string {
  const lines: string[] = [];
  const m = r.machine;
  lines.push(`# keyhole bench — ${r.startedAt.slice(0, 10)}`, "");
  lines.push(
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node}; Podman ${m.podman} (runc: ${m.runc.replace(/^runc version /, "")}); Docker Engine ${m.docker} (swarm ${m.swarm}). Load average ${m.loadAtStart} at start, ${r.loadAtEnd} at end. Bench took ${fmtMs(r.durationMs)}. Run id \`${r.runId}\`.`,
    "",
    "Times are medians (min–max) of interleaved rounds; ratios are measured within this run. Read the ratios, not the absolute times: the machine is shared.",
    "",
  );
  if (r.headline) lines.push(...headlineSection(r.headline));
  if (r.floor) lines.push(...floorSection(r.floor));
  if (r.perOperation) lines.push(...perOpSection(r.perOperation));
  if (r.scaling) lines.push(...scalingSection(r.scaling));
  return `${lines.join("\n")}\n`;
}

function headlineSection(h: HeadlineResult | { error: string }): string[] {
  const out = ["## Headline: three-backend `keyhole compare`, before and after", ""];
  if ("error" in h) return [...out, `Not measured: ${h.error}`, ""];
  const v = h.verdicts;
  out.push(
    `\`keyhole compare --backend ${h.backends.join(",")}\` (all checks), the baseline ${h.baseline.resolved.slice(0, 7)} built in a scratch worktree and this checkout, run interleaved in this bench (${h.runs.map((r) => `${r.which} ${fmtMs(r.wallMs)}`).join(", ")}).`,
    "",
    "| | before | after | speedup | target | met |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    `| wall time | ${fmtSummaryMs(h.before)} | ${fmtSummaryMs(h.after)} | **${fmtRatio(h.speedup)}×** | ≥ ${h.target}× | ${h.met ? "yes" : "no"} |`,
    "",
    `Verdicts (outcome, \`!\` = contradicts capabilities) of every check both sides ran, over all their runs (plus one \`--backend docker\` run per side, untimed): ${Object.entries(
      v.compared,
    )
      .map(([b, n]) => `${b} ${n}`)
      .join(
        ", ",
      )} checks compared; **${v.differences.length === 0 ? "identical" : `${v.differences.length} differ`}**.`,
    ...v.differences.map(
      (d) => `- ${d.backend} ${d.check}: before ${d.before.join("/")}, after ${d.after.join("/")}`,
    ),
    ...(v.onlyAfter.length > 0
      ? [
          `- New since the baseline (not compared): ${v.onlyAfter.map((c) => `${c.backend} ${c.check}`).join(", ")}`,
        ]
      : []),
    ...(v.unstable.length > 0
      ? [
          `- Not the same in every run of one side: ${v.unstable.map((u) => `${u.backend} ${u.check} (${u.side}: ${u.outcomes.join("/")})`).join(", ")}`,
        ]
      : []),
    "",
  );
  return out;
}

/**
 * Every check's cost per backend (from the alone runs when there are any, else the side-by-side
 * compare), costliest first by its total over backends: where a pass's check time goes.
 */
function perCheckTable(f: FloorResult): string[] {
  const passes =
    f.alone.length > 0 ? f.alone.map((a) => a.floor) : f.backends.filter((b) => b.available);
  if (passes.length === 0) return [];
  const ids = [...new Set(passes.flatMap((p) => p.checks.map((c) => c.check)))];
  const cell = (p: (typeof passes)[number], id: string) => p.checks.find((c) => c.check === id);
  const total = (id: string) => passes.reduce((t, p) => t + (cell(p, id)?.ms ?? 0), 0);
  ids.sort((a, b) => total(b) - total(a));
  return [
    `Per-check cost (${f.alone.length > 0 ? "each backend alone" : "side by side"}; ms of the check's own probes, evidence items in parentheses; workload starts are setup, not here):`,
    "",
    `| check | ${passes.map((p) => p.backend).join(" | ")} | Σ |`,
    `| --- | ${passes.map(() => "---:").join(" | ")} | ---: |`,
    ...ids.map((id) => {
      const cells = passes.map((p) => {
        const c = cell(p, id);
        return c ? `${fmtMs(c.ms)} (${c.probes})` : "–";
      });
      return `| ${id} | ${cells.join(" | ")} | ${fmtMs(total(id))} |`;
    }),
    `| **all checks** | ${passes.map((p) => `**${fmtMs(p.checksMs)}**`).join(" | ")} | **${fmtMs(passes.reduce((t, p) => t + p.checksMs, 0))}** |`,
    "",
  ];
}

function floorSection(f: FloorResult | { error: string }): string[] {
  const out = ["## 1. Floor ratio: each pass ÷ what its probes cost on the bare engine", ""];
  if ("error" in f) return [...out, `Not measured: ${f.error}`, ""];
  const costs = (engine: string, key: "start" | "exec" | "cli") => {
    const s = f.bare[key][engine as keyof typeof f.bare.start] ?? [];
    return `${fmtMs(median(s))} (${fmtMs(Math.min(...s))}–${fmtMs(Math.max(...s))}, n=${s.length})`;
  };
  const engines = Object.keys(f.bare.start);
  out.push(
    "Floor of a pass = workload starts × bare start + exec sessions × bare exec (same API) + engine CLI calls × bare CLI call + storage scans × bare scan (the suite's own `grep` argv, random needle). Counts from the report; bare costs measured in this run, before and after the compares.",
    "",
    "| engine | bare start | bare exec (API) | bare CLI call |",
    "| --- | ---: | ---: | ---: |",
    ...engines.map(
      (e) => `| ${e} | ${costs(e, "start")} | ${costs(e, "exec")} | ${costs(e, "cli")} |`,
    ),
    "",
  );
  if (f.alone.length > 0) {
    out.push(
      `Each backend alone (\`keyhole compare --backend <id>\`); **pass ÷ floor** is the figure the target (≤ ${f.target}) is about; wall includes Node and the CLI:`,
      "",
      "| backend | starts | exec sessions | CLI calls | scans (bare) | floor | pass | **pass ÷ floor** | wall | wall ÷ floor | setup | checks Σ | dispose |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...f.alone.map((a) => {
        const b = a.floor;
        return `| ${a.backend} | ${b.workloadStarts} | ${b.counted ? b.execSessions : "?"} | ${b.counted ? b.engineCli : "?"} | ${b.counted ? `${b.storageScans} (${fmtMs(b.bare.scanMs)})` : "?"} | ${fmtMs(b.floorMs)} | ${fmtMs(b.passMs)} | **${fmtRatio(b.ratio)}** | ${fmtMs(a.wallMs)} | ${fmtRatio(a.wallRatio)} | ${fmtMs(b.setupMs)} | ${fmtMs(b.checksMs)} | ${fmtMs(b.disposeMs)} |`;
      }),
      "",
      `Target ≤ ${f.target} per pass: ${f.met ? "met" : "not met"}.`,
      "",
    );
  }
  out.push(...perCheckTable(f));
  out.push(
    "All backends side by side (one `keyhole compare`):",
    "",
    "| backend | starts | exec sessions | CLI calls | scans | floor (starts + execs + CLI + scans) | pass | pass ÷ floor | keyhole starts Σ | checks Σ | setup | dispose |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const b of f.backends) {
    const p = b.floorParts;
    out.push(
      b.available
        ? `| ${b.backend} | ${b.workloadStarts} | ${b.execSessions} | ${b.engineCli} | ${b.storageScans} | ${fmtMs(b.floorMs)} (${fmtMs(p.starts)} + ${fmtMs(p.execs)} + ${fmtMs(p.cli)} + ${fmtMs(p.scans)}) | ${fmtMs(b.passMs)} | ${fmtRatio(b.ratio)} | ${fmtMs(b.keyholeStartsMs)} | ${fmtMs(b.checksMs)} | ${fmtMs(b.setupMs)} | ${fmtMs(b.disposeMs)} |`
        : `| ${b.backend} | unavailable | | | | | | | | | | |`,
    );
  }
  const runs = f.compareRuns.map(
    (c) =>
      `${fmtMs(c.wallMs)} (exit ${c.exitCode}${c.peakRssKiB ? `, peak RSS ${(c.peakRssKiB / 1024).toFixed(0)} MiB` : ""})`,
  );
  out.push(
    "",
    `- \`keyhole compare\` wall time: ${runs.join("; ")}; ÷ the sum of the floors (${fmtMs(f.floorSequentialMs)}; 2 cores run the passes' engine work one after another) = **${fmtRatio(f.ratio)}**; ÷ the largest floor (${fmtMs(f.floorMs)}) = ${fmtRatio(f.compareWall.median / f.floorMs)}`,
    `- Slowest checks per backend (ms, evidence items): ${f.backends
      .filter((b) => b.available)
      .map(
        (b) =>
          `${b.backend}: ${b.checks
            .slice(0, 5)
            .map((c) => `${c.check} ${fmtMs(c.ms)} (${c.probes})`)
            .join(", ")}`,
      )
      .join("; ")}`,
    "",
  );
  return out;
}

function perOpSection(list: NonNullable<BenchResult["perOperation"]>): string[] {
  const out = [
    "## 2. Per-operation overhead: adapter ÷ bare CLI",
    "",
    "create secret → run with one file delivery (uid/gid 2000, 0400) → `cat` as uid 2000 → stop → remove secret.",
    "",
    "| backend | adapter | bare CLI | ratio per round | ratio of medians | target | met |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const r of list) {
    if ("error" in r && !("adapter" in r)) {
      out.push(`| ${r.backend} | error: ${r.error.replace(/\|/g, "/").slice(0, 200)} | | | | | |`);
      continue;
    }
    const p = r as PerOpResult;
    out.push(
      `| ${p.backend} | ${fmtSummaryMs(p.adapter.total)} | ${fmtSummaryMs(p.bare.total)} | ${fmtSummaryRatio(p.ratio)} | **${fmtRatio(p.ratioOfMedians)}** | ≤ ${p.target} | ${p.met ? "yes" : "no"} |`,
    );
  }
  out.push(
    "",
    "Where the time goes (medians per step; engine = time with an HTTP request or child process in flight, own = the rest: our code, timers, event loop):",
    "",
    "| backend | step | adapter | bare CLI | adapter engine | adapter own | calls per step |",
    "| --- | --- | ---: | ---: | ---: | ---: | --- |",
  );
  for (const r of list) {
    if (!("adapter" in r)) continue;
    for (const step of STEPS) {
      const bds = r.adapter.breakdowns.map((b) => b[step]!);
      const calls = bds[0]?.calls ?? {};
      const callText = Object.entries(calls)
        .map(([label, c]) => `${c.count}× ${label}`)
        .join(", ");
      out.push(
        `| ${r.backend} | ${step} | ${fmtMs(median(r.adapter.steps.map((s) => s[step])))} | ${fmtMs(median(r.bare.steps.map((s) => s[step])))} | ${fmtMs(median(bds.map((b) => b.engineMs)))} | ${fmtMs(median(bds.map((b) => b.ownMs)))} | ${callText.replace(/\|/g, "/") || "—"} |`,
      );
    }
  }
  out.push("");
  return out;
}

function scalingSection(series: readonly ScalingSeries[]): string[] {
  const out = [
    "## 3. Scaling",
    "",
    "Each row is one process (so peak RSS is keyhole's alone). Total = create + run + verify + stop + remove.",
    "",
    "| backend | scenario | n | total | per unit | create | run | verify | stop | remove | RSS after ready → peak | isolation |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const s of series) {
    for (const p of s.points) {
      out.push(
        `| ${s.backend} | ${s.kind === "secrets" ? "secrets in one workload" : "concurrent workloads"} | ${p.n} | ${fmtMs(p.totalMs)} | ${fmtMs(p.perUnitMs)} | ${fmtMs(p.createMs)} | ${fmtMs(p.runMs)} | ${fmtMs(p.verifyMs)} | ${fmtMs(p.stopMs)} | ${fmtMs(p.removeMs)} | ${mib(p.baselineRssKiB)} → ${mib(p.peakRssKiB)} | ${p.isolationViolations === 0 ? "ok" : `**${p.isolationViolations} violation(s)**`} |`,
      );
    }
    if (s.error)
      out.push(
        `| ${s.backend} | ${s.kind} | | error: ${s.error.replace(/\|/g, "/").slice(0, 200)} | | | | | | | | |`,
      );
  }
  out.push(
    "",
    "Growth of total time, k in total ≈ c·nᵏ (1 = linear):",
    "",
    "| backend | scenario | k (smallest → largest n) | k (two largest n) | verdict |",
    "| --- | --- | ---: | ---: | --- |",
  );
  for (const s of series) {
    out.push(
      `| ${s.backend} | ${s.kind} | ${fmtRatio(s.exponent)} | ${fmtRatio(s.exponentTail)} | ${s.verdict} |`,
    );
  }
  out.push("");
  return out;
}

function mib(kib: number): string {
  return `${(kib / 1024).toFixed(0)} MiB`;
}
