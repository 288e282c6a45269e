import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchBackend } from "./backends.js";
import { bareProbes, bareScan } from "./bare-probes.js";
import { runCommand } from "./command.js";
import { type BenchImages, bareStart, type EngineKind } from "./engines.js";
import { fmtMs, fmtRatio, median, type Summary, summarize } from "./stats.js";

/**
 * The parts of `@keyhole/conformance`'s JSON report (schemaVersion 1) the floor needs; read
 * from the file `keyhole compare --format json --out` writes, as any consumer of the CLI would.
 */
/** One backend of the report, as far as the bench reads it. */
export interface BackendReport {
  id: string;
  available: boolean;
  results: Array<{
    check: string;
    outcome: string;
    contradiction?: string;
    durationMs: number;
    evidence?: Array<{ where: string; argv?: string[]; note?: string }>;
  }>;
  workloadStarts: number;
  execSessions?: number;
  hostProbes?: { engineCli: number; storageScans: number };
  workloads: Array<{ startMs: number; started: boolean }>;
  setupMs?: number;
  disposeMs?: number;
  durationMs: number;
}
/** The parts of the report the bench reads. */
export interface Report {
  schemaVersion: number;
  backends: BackendReport[];
}

/** The CLI as users run it: its built bin. */
export const CLI_BIN = fileURLToPath(new URL("../../apps/cli/dist/bin.js", import.meta.url));

/** Bare costs per engine (every sample), measured in the same run before and after compare. */
export interface BareCosts {
  /** One container start of the probe image (see bareStart). */
  start: Partial<Record<EngineKind, number[]>>;
  /** One exec session through the engine's API. */
  exec: Partial<Record<EngineKind, number[]>>;
  /** One engine CLI call (`container inspect`). */
  cli: Partial<Record<EngineKind, number[]>>;
  /** One storage scan, per backend (its scope differs: podman-pass adds its store). */
  scan: Record<string, number[]>;
}

/** One backend's floor: what its pass must cost at least, from the report's counts. */
export interface FloorBackend {
  backend: string;
  engine: EngineKind;
  available: boolean;
  /** Workloads the suite started (report `workloadStarts`). */
  workloadStarts: number;
  /** Exec sessions in those workloads (report `execSessions`). */
  execSessions: number;
  /** Engine CLI calls on the host (report `hostProbes.engineCli`). */
  engineCli: number;
  /** Storage scans on the host (report `hostProbes.storageScans`). */
  storageScans: number;
  /** False when the report had no counts (an older keyhole): the floor is starts only. */
  counted: boolean;
  /** Medians of the bare costs on this backend's engine. */
  bare: { startMs: number; execMs: number; cliMs: number; scanMs: number };
  /** Each term of the floor: count × bare median. */
  floorParts: { starts: number; execs: number; cli: number; scans: number };
  /** The sum of {@link floorParts}. */
  floorMs: number;
  /** Wall time of this backend's pass in the report. */
  passMs: number;
  /** passMs ÷ floorMs. */
  ratio: number;
  /** Sum of the suite's own start times of those workloads (run() to running). */
  keyholeStartsMs: number;
  /** Sum of check durations (probes: exec sessions, host scans). */
  checksMs: number;
  setupMs: number;
  disposeMs: number;
  /** Probes inside workloads (evidence items `where: "container"`). */
  containerProbes: number;
  /** Host-side evidence items (engine CLI, /proc, file scans). */
  hostEvidence: number;
  /** Every check's time in this pass, slowest first, with how many probes (evidence items) it ran. */
  checks: Array<{ check: string; ms: number; outcome: string; probes: number }>;
}

/** The floor-ratio result. */
export interface FloorResult {
  compareRuns: Array<{ wallMs: number; exitCode: number; peakRssKiB?: number }>;
  compareWall: Summary;
  /** Bare costs, every sample. */
  bare: BareCosts;
  backends: FloorBackend[];
  /** Max over backends (backends side by side on enough cores). */
  floorMs: number;
  /** Sum over backends: on 2 cores the passes cost what they cost in sequence. */
  floorSequentialMs: number;
  /** compare wall ÷ floorSequentialMs. */
  ratio: number;
  /** Target of each pass's ratio (pass alone ÷ its floor). */
  target: number;
  /** Every backend alone met the target. */
  met: boolean;
  /**
   * `keyhole compare --backend <id>` of each backend on its own: the pass ratio the target is
   * about, without three other passes sharing the cores.
   */
  alone: Array<{
    backend: string;
    wallMs: number;
    exitCode: number;
    floor: FloorBackend;
    /** Process wall (Node, CLI, report) ÷ floor. */
    wallRatio: number;
  }>;
}

/**
 * Runs `keyhole compare` (all checks, the given backends) as a user would, its built bin in a
 * process of its own, between two series of bare measurements on each engine; each backend's
 * floor is the report's counts (workload starts, exec sessions, engine CLI calls, storage
 * scans) × the median bare cost of one.
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
  const bare: BareCosts = { start: {}, exec: {}, cli: {}, scan: {} };
  const push = (m: Partial<Record<string, number[]>>, k: string, v: number) => {
    const list = m[k] ?? [];
    list.push(v);
    m[k] = list;
  };
  let n = 0;
  const probes = await bareProbes(engines, images, runId);
  const series = async (label: string) => {
    for (let i = 0; i < rounds.starts; i++) {
      for (const engine of engines) {
        push(bare.start, engine, await bareStart(engine, images, runId, n++));
        push(bare.exec, engine, await probes.exec(engine));
        push(bare.cli, engine, await probes.cli(engine));
      }
    }
    log(
      `floor: bare ${label}: ${engines.map((e) => `${e} start ${fmtMs(median(bare.start[e]!))} exec ${fmtMs(median(bare.exec[e]!))} cli ${fmtMs(median(bare.cli[e]!))}`).join(", ")}`,
    );
  };
  const dir = mkdtempSync(join(tmpdir(), "keyhole-bench-floor-"));
  const compareRuns: FloorResult["compareRuns"] = [];
  const aloneRuns: Array<{ backend: string; run: CompareRun }> = [];
  let report: Report | undefined;
  try {
    await series("before");
    for (let i = 0; i < rounds.compares; i++) {
      const run = await runCompare(
        CLI_BIN,
        subjects.map((s) => s.id),
        join(dir, `report-${i}.json`),
      );
      compareRuns.push(run.summary);
      report = run.report;
      log(
        `floor: keyhole compare run ${i + 1}/${rounds.compares}: ${fmtMs(run.summary.wallMs)} (exit ${run.summary.exitCode}${run.summary.exitCode === 1 ? ": a check errored or contradicted its capabilities" : ""})`,
      );
    }
    if (rounds.alone && subjects.length === 1 && report) {
      // The compare above was this backend alone.
      const last = compareRuns[compareRuns.length - 1]!;
      aloneRuns.push({ backend: subjects[0]!.id, run: { summary: last, report } });
    } else if (rounds.alone) {
      for (const s of subjects) {
        const run = await runCompare(CLI_BIN, [s.id], join(dir, `alone-${s.id}.json`));
        aloneRuns.push({ backend: s.id, run });
        log(`floor: keyhole compare --backend ${s.id} alone: ${fmtMs(run.summary.wallMs)}`);
      }
    }
    await series("after");
    // The scan's I/O, with the exact argv the suite ran (read from the evidence).
    for (const s of subjects) {
      const argv = scanArgv(report!, s.id);
      if (!argv) continue;
      for (let i = 0; i < rounds.starts; i++) push(bare.scan, s.id, await bareScan(argv));
      log(`floor: bare storage scan ${s.id}: ${fmtMs(median(bare.scan[s.id]!))}`);
    }
  } finally {
    await probes.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const backends = subjects.map((s) => floorBackend(s, report!, bare));
  const available = backends.filter((b) => b.available);
  const floorMs = Math.max(0, ...available.map((b) => b.floorMs));
  const floorSequentialMs = available.reduce((t, b) => t + b.floorMs, 0);
  const alone = aloneRuns.map(({ backend, run }) => {
    const floor = floorBackend(subjects.find((s) => s.id === backend)!, run.report, bare);
    return {
      backend,
      wallMs: run.summary.wallMs,
      exitCode: run.summary.exitCode,
      floor,
      wallRatio: run.summary.wallMs / floor.floorMs,
    };
  });
  const compareWall = summarize(compareRuns.map((r) => r.wallMs));
  const ratio = compareWall.median / floorSequentialMs;
  for (const a of alone) {
    log(
      `floor: ${a.backend} alone: pass ${fmtMs(a.floor.passMs)} ÷ floor ${fmtMs(a.floor.floorMs)} = ${fmtRatio(a.floor.ratio)} (target ≤ ${PASS_TARGET})`,
    );
  }
  return {
    compareRuns,
    compareWall,
    bare,
    backends,
    floorMs,
    floorSequentialMs,
    ratio,
    target: PASS_TARGET,
    met: alone.length > 0 && alone.every((a) => a.floor.ratio <= PASS_TARGET),
    alone,
  };
}

/** Issue 15: a pass may cost at most twice what its probes cost on the bare engine. */
export const PASS_TARGET = 2;

/** One timed `keyhole compare` and its report. */
export interface CompareRun {
  summary: FloorResult["compareRuns"][number];
  report: Report;
}

/** One `keyhole compare` process (the CLI at `bin`), timed from spawn to exit, its JSON report read back. */
export async function runCompare(
  bin: string,
  ids: readonly string[],
  out: string,
): Promise<CompareRun> {
  const args = [bin, "compare", "--backend", ids.join(","), "--format", "json", "--out", out];
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

function floorBackend(subject: BenchBackend, report: Report, bare: BareCosts): FloorBackend {
  const b: BackendReport | undefined = report.backends.find((x) => x.id === subject.id);
  const m = (list: number[] | undefined) => (list && list.length > 0 ? median(list) : 0);
  const costs = {
    startMs: m(bare.start[subject.engine]),
    execMs: m(bare.exec[subject.engine]),
    cliMs: m(bare.cli[subject.engine]),
    scanMs: m(bare.scan[subject.id]),
  };
  const workloadStarts = b?.workloadStarts ?? 0;
  const counted = b?.execSessions !== undefined && b.hostProbes !== undefined;
  const execSessions = b?.execSessions ?? 0;
  const engineCli = b?.hostProbes?.engineCli ?? 0;
  const storageScans = b?.hostProbes?.storageScans ?? 0;
  const floorParts = {
    starts: workloadStarts * costs.startMs,
    execs: execSessions * costs.execMs,
    cli: engineCli * costs.cliMs,
    scans: storageScans * costs.scanMs,
  };
  const floorMs = floorParts.starts + floorParts.execs + floorParts.cli + floorParts.scans;
  const passMs = b?.durationMs ?? 0;
  return {
    backend: subject.id,
    engine: subject.engine,
    available: b?.available ?? false,
    workloadStarts,
    execSessions,
    engineCli,
    storageScans,
    counted,
    bare: costs,
    floorParts,
    floorMs,
    passMs,
    ratio: passMs / floorMs,
    keyholeStartsMs: (b?.workloads ?? [])
      .filter((w) => w.started)
      .reduce((t, w) => t + w.startMs, 0),
    checksMs: (b?.results ?? []).reduce((t, r) => t + r.durationMs, 0),
    setupMs: b?.setupMs ?? 0,
    disposeMs: b?.disposeMs ?? 0,
    containerProbes: count(b, "container"),
    hostEvidence: count(b, "host"),
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

/** The argv of the pass's storage scan over the engine's roots (the first `grep` with excludes). */
function scanArgv(report: Report, id: string): string[] | undefined {
  const b = report.backends.find((x) => x.id === id);
  for (const r of b?.results ?? []) {
    for (const e of r.evidence ?? []) {
      if (e.where === "host" && e.argv?.[0] === "grep" && e.argv.includes("--")) return e.argv;
    }
  }
  return undefined;
}

function count(b: BackendReport | undefined, where: string): number {
  return (b?.results ?? []).reduce(
    (t, r) => t + (r.evidence ?? []).filter((e) => e.where === where).length,
    0,
  );
}
