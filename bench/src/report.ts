import { STEPS } from "./engines.js";
import type { FloorResult } from "./floor.js";
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
  if (r.floor) lines.push(...floorSection(r.floor));
  if (r.perOperation) lines.push(...perOpSection(r.perOperation));
  if (r.scaling) lines.push(...scalingSection(r.scaling));
  return `${lines.join("\n")}\n`;
}

function floorSection(f: FloorResult | { error: string }): string[] {
  const out = ["## 1. Floor ratio: `keyhole compare` ÷ container-start floor", ""];
  if ("error" in f) return [...out, `Not measured: ${f.error}`, ""];
  out.push(
    "| backend | engine | workload starts | bare start (median) | floor share | pass wall | keyhole starts Σ | checks Σ | setup | dispose |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  for (const b of f.backends) {
    out.push(
      b.available
        ? `| ${b.backend} | ${b.engine} | ${b.workloadStarts} | ${fmtMs(b.bareStartMs)} | ${fmtMs(b.floorMs)} | ${fmtMs(b.passMs)} | ${fmtMs(b.keyholeStartsMs)} | ${fmtMs(b.checksMs)} | ${fmtMs(b.setupMs)} | ${fmtMs(b.disposeMs)} |`
        : `| ${b.backend} | ${b.engine} | unavailable | | | | | | | |`,
    );
  }
  const runs = f.compareRuns.map(
    (c) =>
      `${fmtMs(c.wallMs)} (exit ${c.exitCode}${c.peakRssKiB ? `, peak RSS ${(c.peakRssKiB / 1024).toFixed(0)} MiB` : ""})`,
  );
  out.push(
    "",
    `- \`keyhole compare\` (all checks, backends side by side) wall time: ${runs.join("; ")}`,
    `- Floor = max over backends of starts × median bare start (backends run in parallel) = **${fmtMs(f.floorMs)}** (sum, if they ran one after another: ${fmtMs(f.floorSequentialMs)})`,
    `- **Ratio ${fmtRatio(f.ratio)}** (target ≤ ${f.target}: ${f.met ? "met" : "not met"})`,
    `- Probes the checks ran, in workloads (in how many exec sessions) / on the host: ${f.backends
      .filter((b) => b.available)
      .map((b) => `${b.backend} ${b.containerProbes} (${b.execSessions}) / ${b.hostProbes}`)
      .join(", ")}`,
    `- Slowest checks per backend (ms, probes): ${f.backends
      .filter((b) => b.available)
      .map(
        (b) =>
          `${b.backend}: ${b.checks
            .slice(0, 5)
            .map((c) => `${c.check} ${fmtMs(c.ms)} (${c.probes})`)
            .join(", ")}`,
      )
      .join("; ")}`,
    `- Bare starts: ${Object.entries(f.bareStarts)
      .map(
        ([e, s]) =>
          `${e} ${fmtMs(median(s))} (${fmtMs(Math.min(...s))}–${fmtMs(Math.max(...s))}, n=${s.length})`,
      )
      .join("; ")}`,
    "",
  );
  if (f.alone.length > 0) {
    out.push(
      "Each backend alone (`keyhole compare --backend <id>`), floor = its starts × its engine's bare start:",
      "",
      "| backend | wall | workload starts | floor | ratio | setup | checks Σ | dispose |",
      "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
      ...f.alone.map(
        (a) =>
          `| ${a.backend} | ${fmtMs(a.wallMs)} | ${a.workloadStarts} | ${fmtMs(a.floorMs)} | ${fmtRatio(a.ratio)} | ${fmtMs(a.setupMs)} | ${fmtMs(a.checksMs)} | ${fmtMs(a.disposeMs)} |`,
      ),
      "",
    );
  }
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
