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
  results: Array<{ durationMs: number }>;
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
  rounds: { starts: number; compares: number },
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
  let report: Report | undefined;
  try {
    for (let i = 0; i < rounds.compares; i++) {
      const out = join(dir, `report-${i}.json`);
      const args = [
        CLI_BIN,
        "compare",
        "--backend",
        subjects.map((s) => s.id).join(","),
        "--format",
        "json",
        "--out",
        out,
        "--quiet",
      ];
      // /usr/bin/time -f reports the peak RSS of the keyhole process itself.
      const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
      const r = timeBin
        ? await runCommand(timeBin, ["-f", "KEYHOLE_MAXRSS_KIB %M", process.execPath, ...args], {
            check: false,
            timeoutMs: 30 * 60_000,
          })
        : await runCommand(process.execPath, args, { check: false, timeoutMs: 30 * 60_000 });
      const rss = /KEYHOLE_MAXRSS_KIB (\d+)/.exec(r.stderr)?.[1];
      if ((r.code !== 0 && r.code !== 1) || !existsSync(out)) {
        throw new Error(`keyhole compare exited ${r.code}: ${r.stderr.trim().slice(-800)}`);
      }
      compareRuns.push({
        wallMs: r.ms,
        exitCode: r.code,
        ...(rss ? { peakRssKiB: Number(rss) } : {}),
      });
      report = JSON.parse(readFileSync(out, "utf8")) as Report;
      log(
        `floor: keyhole compare run ${i + 1}/${rounds.compares}: ${fmtMs(r.ms)} (exit ${r.code}${r.code === 1 ? ": a check errored or contradicted its capabilities" : ""})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await startSeries("after");
  const backends = subjects.map((s) => floorBackend(s, report!, bareStarts));
  const available = backends.filter((b) => b.available);
  const floorMs = Math.max(0, ...available.map((b) => b.floorMs));
  const floorSequentialMs = available.reduce((t, b) => t + b.floorMs, 0);
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
  };
}
