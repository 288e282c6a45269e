import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchBackend } from "./backends.js";
import { runCommand } from "./command.js";
import { type BenchImages, bareStart, type EngineKind } from "./engines.js";
import { fmtMs, fmtRatio, type Summary, summarize } from "./stats.js";

/**
 * The parts of `@keyhole/conformance`'s JSON report (schemaVersion 1) the floor needs; read
 * from the file `keyhole compare --format json --out` writes, as any consumer of the CLI would.
 */
interface BackendReport {
  id: string;
  available: boolean;
  results: Array<{
    check: string;
    outcome: string;
    durationMs: number;
    evidence?: Array<{ where: string; note?: string }>;
  }>;
  workloadStarts: number;
  workloads: Array<{ startMs: number; started: boolean }>;
  setupMs?: number;
  disposeMs?: number;
  durationMs: number;
}
interface Report {
  schemaVersion: number;
  backends: BackendReport[];
}

/** The CLI as users run it: its built bin. */
export const CLI_BIN = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));

/** One backend's share of the floor. */
export interface FloorBackend {
  backend: string;
  engine: EngineKind;
  available: boolean;
  /** Distinct workload configurations the suite started (from the report). */
  workloadStarts: number;
  /** Median bare start on this engine (measured in this run, before and after compare). */
  bareStartMs: number;
  /** workloadStarts × bareStartMs. */
  floorMs: number;
  /** Wall time of this backend's pass in the report. */
  passMs: number;
  /** Sum of the suite's own start times of those workloads (run() to running). */
  keyholeStartsMs: number;
  /** Sum of check durations (probes: exec sessions, host scans). */
  checksMs: number;
  setupMs: number;
  disposeMs: number;
  /** Probes inside workloads (evidence items `where: "container"`). */
  containerProbes: number;
  /**
   * Exec sessions those probes took: read-only checks of one workload share one session (their
   * evidence says "one exec session shared by N checks", each counted 1/N).
   */
  execSessions: number;
  /** Host-side probes (engine CLI, /proc, file scans). */
  hostProbes: number;
  /** Every check's time in this pass, slowest first, with how many probes (evidence items) it ran. */
  checks: Array<{ check: string; ms: number; outcome: string; probes: number }>;
}

/** The floor-ratio result. */
export interface FloorResult {
  compareRuns: Array<{ wallMs: number; exitCode: number; peakRssKiB?: number }>;
  compareWall: Summary;
  /** Bare starts per engine, every sample. */
  bareStarts: Partial<Record<EngineKind, number[]>>;
  backends: FloorBackend[];
  /** runComparison runs backends side by side, so the floor is the slowest backend's. */
  parallel: boolean;
  floorMs: number;
  /** The floor if backends ran one after another (for reference). */
  floorSequentialMs: number;
  ratio: number;
  target: number;
  met: boolean;
  /**
   * `keyhole compare --backend <id>` of each backend on its own: separates what the suite costs
   * per backend from what four passes sharing the cores cost.
   */
  alone: Array<{
    backend: string;
    wallMs: number;
    exitCode: number;
    workloadStarts: number;
    floorMs: number;
    ratio: number;
    passMs: number;
    setupMs: number;
    checksMs: number;
    disposeMs: number;
  }>;
}

/**
 * Runs `keyhole compare` (all checks, the given backends) as a user would, its built bin in a
 * process of its own, between two series of bare starts on each engine; the floor is
 * workload starts (from the report) × the median bare start, max over backends.
 */
export async function floorRatio(
  subjects: readonly BenchBackend[],
  images: BenchImages,
  runId: string,
  rounds: { starts: number; compares: number; alone: boolean },
  log: (line: string) => void,
): Promise<FloorResult> {
  if (!existsSync(CLI_BIN))
    throw new Error(`${CLI_BIN} is missing: build the CLI first (npx turbo run build)`);
  const engines = [...new Set(subjects.map((s) => s.engine))];
  const bareStarts: Partial<Record<EngineKind, number[]>> = {};
  let n = 0;
  const startSeries = async (label: string) => {
    for (let i = 0; i < rounds.starts; i++) {
      for (const engine of engines) {
        const ms = await bareStart(engine, images, runId, n++);
        const samples = bareStarts[engine] ?? [];
        samples.push(ms);
        bareStarts[engine] = samples;
      }
    }
    log(
      `floor: bare starts ${label}: ${engines.map((e) => `${e} ${fmtMs(summarize(bareStarts[e]!).median)}`).join(", ")}`,
    );
  };
  await startSeries("before");
  const dir = mkdtempSync(join(tmpdir(), "keyhole-bench-floor-"));
  const compareRuns: FloorResult["compareRuns"] = [];
  const aloneRuns: Array<{ backend: string; run: CompareRun }> = [];
  let report: Report | undefined;
  try {
    for (let i = 0; i < rounds.compares; i++) {
      const run = await runCompare(
        subjects.map((s) => s.id),
        join(dir, `report-${i}.json`),
      );
      compareRuns.push(run.summary);
      report = run.report;
      log(
        `floor: keyhole compare run ${i + 1}/${rounds.compares}: ${fmtMs(run.summary.wallMs)} (exit ${run.summary.exitCode}${run.summary.exitCode === 1 ? ": a check errored or contradicted its capabilities" : ""})`,
      );
    }
    if (rounds.alone && subjects.length > 1) {
      for (const s of subjects) {
        const run = await runCompare([s.id], join(dir, `alone-${s.id}.json`));
        aloneRuns.push({ backend: s.id, run });
        log(`floor: keyhole compare --backend ${s.id} alone: ${fmtMs(run.summary.wallMs)}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await startSeries("after");
  const backends = subjects.map((s) => floorBackend(s, report!, bareStarts));
  const available = backends.filter((b) => b.available);
  const floorMs = Math.max(0, ...available.map((b) => b.floorMs));
  const floorSequentialMs = available.reduce((t, b) => t + b.floorMs, 0);
  const alone = aloneRuns.map(({ backend, run }) => {
    const subject = subjects.find((s) => s.id === backend)!;
    const b = floorBackend(subject, run.report, bareStarts);
    return {
      backend,
      wallMs: run.summary.wallMs,
      exitCode: run.summary.exitCode,
      workloadStarts: b.workloadStarts,
      floorMs: b.floorMs,
      ratio: run.summary.wallMs / b.floorMs,
      passMs: b.passMs,
      setupMs: b.setupMs,
      checksMs: b.checksMs,
      disposeMs: b.disposeMs,
    };
  });
  const compareWall = summarize(compareRuns.map((r) => r.wallMs));
  const ratio = compareWall.median / floorMs;
  log(
    `floor: compare ${fmtMs(compareWall.median)} ÷ floor ${fmtMs(floorMs)} = ${fmtRatio(ratio)} (target ≤ 1.3)`,
  );
  return {
    compareRuns,
    compareWall,
    bareStarts,
    backends,
    parallel: true,
    floorMs,
    floorSequentialMs,
    ratio,
    target: 1.3,
    met: ratio <= 1.3,
    alone,
  };
}

interface CompareRun {
  summary: FloorResult["compareRuns"][number];
  report: Report;
}

/** One `keyhole compare` process, timed from spawn to exit, its JSON report read back. */
async function runCompare(ids: readonly string[], out: string): Promise<CompareRun> {
  const args = [CLI_BIN, "compare", "--backend", ids.join(","), "--format", "json", "--out", out];
  // /usr/bin/time -f reports the peak RSS of the keyhole process itself.
  const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
  const r = timeBin
    ? await runCommand(
        timeBin,
        ["-f", "KEYHOLE_MAXRSS_KIB %M", process.execPath, ...args, "--quiet"],
        { check: false, timeoutMs: 30 * 60_000 },
      )
    : await runCommand(process.execPath, [...args, "--quiet"], {
        check: false,
        timeoutMs: 30 * 60_000,
      });
  const rss = /KEYHOLE_MAXRSS_KIB (\d+)/.exec(r.stderr)?.[1];
  if ((r.code !== 0 && r.code !== 1) || !existsSync(out)) {
    throw new Error(`keyhole compare exited ${r.code}: ${r.stderr.trim().slice(-800)}`);
  }
  return {
    summary: { wallMs: r.ms, exitCode: r.code, ...(rss ? { peakRssKiB: Number(rss) } : {}) },
    report: JSON.parse(readFileSync(out, "utf8")) as Report,
  };
}

function floorBackend(
  subject: BenchBackend,
  report: Report,
  bareStarts: Partial<Record<EngineKind, number[]>>,
): FloorBackend {
  const b: BackendReport | undefined = report.backends.find((x) => x.id === subject.id);
  const bareStartMs = summarize(bareStarts[subject.engine] ?? []).median;
  const workloadStarts = b?.workloadStarts ?? 0;
  return {
    backend: subject.id,
    engine: subject.engine,
    available: b?.available ?? false,
    workloadStarts,
    bareStartMs,
    floorMs: workloadStarts * bareStartMs,
    passMs: b?.durationMs ?? 0,
    keyholeStartsMs: (b?.workloads ?? [])
      .filter((w) => w.started)
      .reduce((t, w) => t + w.startMs, 0),
    checksMs: (b?.results ?? []).reduce((t, r) => t + r.durationMs, 0),
    setupMs: b?.setupMs ?? 0,
    disposeMs: b?.disposeMs ?? 0,
    containerProbes: count(b, "container"),
    execSessions: sessions(b),
    hostProbes: count(b, "host"),
    checks: (b?.results ?? [])
      .map((r) => ({
        check: r.check,
        ms: r.durationMs,
        outcome: r.outcome,
        probes: r.evidence?.length ?? 0,
      }))
      .sort((x, y) => y.ms - x.ms),
  };
}

function count(b: BackendReport | undefined, where: string): number {
  return (b?.results ?? []).reduce(
    (t, r) => t + (r.evidence ?? []).filter((e) => e.where === where).length,
    0,
  );
}

function sessions(b: BackendReport | undefined): number {
  let total = 0;
  for (const r of b?.results ?? []) {
    for (const e of r.evidence ?? []) {
      if (e.where !== "container") continue;
      const shared = /one exec session shared by (\d+) checks/.exec(e.note ?? "")?.[1];
      total += shared ? 1 / Number(shared) : 1;
    }
  }
  return Math.round(total);
}
