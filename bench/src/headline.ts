import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCommand } from "./command.js";
import { CLI_BIN, type CompareRun, type Report, runCompare } from "./floor.js";
import { fmtMs, fmtRatio, type Summary, summarize } from "./stats.js";

/** The three seed backends whose side-by-side compare is the headline figure (issue 15). */
export const HEADLINE_BACKENDS = ["podman-file", "podman-pass", "docker-swarm"] as const;

/** Backends outside the headline whose verdicts are compared too (one run per side, untimed). */
export const VERDICT_ONLY_BACKENDS = ["docker"] as const;

/** The commit measured as "before": main when issue 15 started. */
export const DEFAULT_BASELINE = "32bead5";

/** What `keyhole compare` of the headline backends costs, before and after, in one run. */
export interface HeadlineResult {
  baseline: { commit: string; resolved: string };
  backends: string[];
  /** Wall time of each run, in the order they ran (interleaved). */
  runs: Array<{ which: "before" | "after"; wallMs: number; exitCode: number }>;
  before: Summary;
  after: Summary;
  /** before median ÷ after median. */
  speedup: number;
  /** Target: at least 2× faster. */
  target: number;
  met: boolean;
  /** Per backend and check, the outcomes each side reported over its runs. */
  verdicts: VerdictComparison;
}

/** Outcomes per check, every run of each side; differences listed. */
export interface VerdictComparison {
  /** Checks both sides ran, per backend. */
  compared: Record<string, number>;
  /** Checks whose outcomes (or contradiction flags) differ between before and after. */
  differences: Array<{ backend: string; check: string; before: string[]; after: string[] }>;
  /** Checks only the current code has (added since the baseline). */
  onlyAfter: Array<{ backend: string; check: string }>;
  /** Checks a side reported differently from one of its own runs to the next (flaky). */
  unstable: Array<{ backend: string; check: string; side: "before" | "after"; outcomes: string[] }>;
}

const REPO = fileURLToPath(new URL("../../", import.meta.url));

/**
 * Builds the baseline commit in a scratch `git worktree` under the temp dir (node_modules
 * borrowed from this checkout, the workspace links pointing into the scratch tree), then runs
 * `keyhole compare` of the headline backends with both CLIs, interleaved (before, after, after,
 * before, …) so drifting load hits both alike. The scratch tree is removed at the end.
 */
export async function headline(
  commit: string,
  rounds: number,
  log: (line: string) => void,
): Promise<HeadlineResult> {
  const scratch = mkdtempSync(join(tmpdir(), "keyhole-bench-baseline-"));
  const base = join(scratch, "base");
  const runs: HeadlineResult["runs"] = [];
  const reports: Record<"before" | "after", Report[]> = { before: [], after: [] };
  let resolved = commit;
  try {
    resolved = (await runCommand("git", ["-C", REPO, "rev-parse", commit])).stdout.trim();
    await runCommand("git", ["-C", REPO, "worktree", "add", "--detach", base, resolved]);
    linkNodeModules(base);
    log(`headline: building baseline ${resolved.slice(0, 7)} in ${base}`);
    await runCommand(
      join(REPO, "node_modules/.bin/turbo"),
      ["run", "build", "--filter=@keyhole/cli...", "--output-logs=errors-only"],
      {
        cwd: base,
        timeoutMs: 20 * 60_000,
        env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
      },
    ).catch((e: unknown) => {
      throw new Error(`building the baseline failed: ${(e as Error).message}`);
    });
    const bins = { before: join(base, "apps/cli/dist/bin.js"), after: CLI_BIN };
    for (let i = 0; i < rounds; i++) {
      const order: Array<"before" | "after"> =
        i % 2 === 0 ? ["before", "after"] : ["after", "before"];
      for (const which of order) {
        const run: CompareRun = await runCompare(
          bins[which],
          HEADLINE_BACKENDS,
          join(scratch, `${which}-${i}.json`),
        );
        runs.push({ which, wallMs: run.summary.wallMs, exitCode: run.summary.exitCode });
        reports[which].push(run.report);
        log(`headline: ${which} ${i + 1}/${rounds}: ${fmtMs(run.summary.wallMs)}`);
      }
    }
    // Verdicts on every backend: the ones outside the headline once per side.
    for (const which of ["before", "after"] as const) {
      const run = await runCompare(
        bins[which],
        VERDICT_ONLY_BACKENDS,
        join(scratch, `${which}-verdicts.json`),
      );
      reports[which].push(run.report);
      log(
        `headline: ${which} ${VERDICT_ONLY_BACKENDS.join(",")} (verdicts only): ${fmtMs(run.summary.wallMs)}`,
      );
    }
  } finally {
    await runCommand("git", ["-C", REPO, "worktree", "remove", "--force", base], {
      check: false,
    });
    await runCommand("git", ["-C", REPO, "worktree", "prune"], { check: false });
    rmSync(scratch, { recursive: true, force: true });
  }
  const before = summarize(runs.filter((r) => r.which === "before").map((r) => r.wallMs));
  const after = summarize(runs.filter((r) => r.which === "after").map((r) => r.wallMs));
  const speedup = before.median / after.median;
  log(
    `headline: before ${fmtMs(before.median)}, after ${fmtMs(after.median)}: ${fmtRatio(speedup)}× faster (target ≥ 2)`,
  );
  return {
    baseline: { commit, resolved },
    backends: [...HEADLINE_BACKENDS],
    runs,
    before,
    after,
    speedup,
    target: 2,
    met: speedup >= 2,
    verdicts: compareVerdicts(reports.before, reports.after),
  };
}

/**
 * The scratch tree's node_modules: a real directory of links to this checkout's packages,
 * except `@keyhole/*`, which must point into the scratch tree (the baseline's own code).
 */
function linkNodeModules(base: string): void {
  const mine = join(REPO, "node_modules");
  const theirs = join(base, "node_modules");
  mkdirSync(theirs);
  for (const entry of readdirSync(mine)) {
    if (entry === "@keyhole") continue;
    symlinkSync(join(mine, entry), join(theirs, entry));
  }
  mkdirSync(join(theirs, "@keyhole"));
  for (const entry of readdirSync(join(mine, "@keyhole"))) {
    const target = ["bench", "cli", "runner-registration"].includes(entry)
      ? entry === "bench"
        ? "../../bench"
        : `../../apps/${entry}`
      : `../../packages/${entry}`;
    if (existsSync(join(theirs, "@keyhole", target)))
      symlinkSync(target, join(theirs, "@keyhole", entry));
  }
}

/** The outcome of one check as compared: its outcome, plus `!` when it contradicted the capabilities. */
function verdict(r: { outcome: string; contradiction?: string }): string {
  return r.contradiction ? `${r.outcome}!` : r.outcome;
}

/** Compares the outcomes of every check both sides ran; see {@link VerdictComparison}. */
export function compareVerdicts(before: Report[], after: Report[]): VerdictComparison {
  const collect = (reports: Report[]) => {
    const m = new Map<string, Map<string, Set<string>>>();
    for (const report of reports) {
      for (const b of report.backends) {
        const checks = m.get(b.id) ?? new Map<string, Set<string>>();
        for (const r of b.results) {
          const set = checks.get(r.check) ?? new Set<string>();
          set.add(verdict(r));
          checks.set(r.check, set);
        }
        m.set(b.id, checks);
      }
    }
    return m;
  };
  const b = collect(before);
  const a = collect(after);
  const out: VerdictComparison = { compared: {}, differences: [], onlyAfter: [], unstable: [] };
  for (const [backend, checks] of a) {
    const old = b.get(backend) ?? new Map<string, Set<string>>();
    out.compared[backend] = 0;
    for (const [check, outcomes] of checks) {
      if (outcomes.size > 1)
        out.unstable.push({ backend, check, side: "after", outcomes: [...outcomes].sort() });
      const was = old.get(check);
      if (!was) {
        out.onlyAfter.push({ backend, check });
        continue;
      }
      out.compared[backend]++;
      if (was.size > 1)
        out.unstable.push({ backend, check, side: "before", outcomes: [...was].sort() });
      const x = [...was].sort();
      const y = [...outcomes].sort();
      if (x.join() !== y.join()) out.differences.push({ backend, check, before: x, after: y });
    }
  }
  return out;
}
