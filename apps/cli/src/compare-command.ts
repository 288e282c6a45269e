import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { CHECKS, type ConformanceOptions, type Report, runComparison } from "@keyhole/conformance";
import { type EngineSet, provisionedEngineSets, type SecretBackend } from "@keyhole/core";
import { colorEnabled } from "./ansi.js";
import type { Command } from "./args.js";
import { compareInChild, selectEngineSets, strategiesForSet } from "./engine-sets.js";
import { EXIT, type ExitCode, exitCodeForDiff, exitCodeForReport } from "./exit-codes.js";
import type { CliIO } from "./io.js";
import { checkInfos } from "./matrix.js";
import { createProgress } from "./progress.js";
import { readReportFile } from "./read-report.js";
import { render } from "./render.js";
import { renderDiff } from "./render-diff.js";
import { type DiffableReport, diffReports } from "./report-diff.js";
import { selectBackends, selectChecks } from "./select.js";
import { type BackendStrategy, STRATEGIES } from "./strategies.js";

/** What `keyhole compare` runs on; replaceable so tests can point it at chosen backends. */
export interface CompareDeps {
  strategies: readonly BackendStrategy[];
  /** The provisioned engine sets; default `provisionedEngineSets()` from core. */
  sets?: () => EngineSet[];
  run: (backends: readonly SecretBackend[], options: ConformanceOptions) => Promise<Report>;
}

const DEFAULT_DEPS: CompareDeps = {
  strategies: STRATEGIES,
  run: runComparison,
  sets: provisionedEngineSets,
};

/**
 * `keyhole compare`: runs the conformance suite on every selected backend side by side and
 * renders the report. Without `--out`, stdout gets the report in `--format`; with `--out`, the
 * file gets it and the terminal still gets the table (unless `--quiet`). Progress goes to stderr.
 * With `--baseline FILE`, the new report is then diffed against FILE like `keyhole diff`: the
 * changed verdicts follow the table on stdout (on stderr when stdout holds another format),
 * and a verdict that got worse makes the exit code 4.
 */
export async function compareCommand(
  cmd: Extract<Command, { command: "compare" }>,
  io: CliIO,
  deps: CompareDeps = DEFAULT_DEPS,
): Promise<ExitCode> {
  // Usage errors first, before any engine is touched.
  const ids = selectBackends(
    deps.strategies.filter((s) => !(cmd.noCluster && s.cluster)).map((s) => s.id),
    cmd.backends,
  );
  const checks = selectChecks(
    CHECKS.map((c) => c.id),
    cmd.checks,
  );
  const baseline: DiffableReport | undefined =
    cmd.baseline === undefined ? undefined : readReportFile(cmd.baseline, io.cwd);
  const stdoutColor = colorEnabled({
    noColorFlag: cmd.noColor,
    env: io.env,
    isTTY: io.stdout.isTTY === true,
  });
  const stderrColor = colorEnabled({
    noColorFlag: cmd.noColor,
    env: io.env,
    isTTY: io.stderr.isTTY === true,
  });
  const progress = createProgress(io.stderr, { color: stderrColor, quiet: cmd.quiet });
  // Engine sets: the host's engines in this process; each other set in a child process of
  // its own (side by side), merged into one report. `--engines <set>` is that child.
  const selection = selectEngineSets(cmd.engines ?? "all", deps.sets?.() ?? []);
  if (!selection.host && selection.sets.length === 0) {
    io.stderr.write(
      `No engine set named ${JSON.stringify(cmd.engines)} is provisioned. Run \`node scripts/engine-set.mjs up\` (or use --engines host).\n`,
    );
    return EXIT.noBackend;
  }
  if (cmd.engines === undefined || cmd.engines === "all") {
    if (selection.sets.length === 0 && !cmd.quiet && deps.sets !== undefined)
      io.stderr.write(
        "NOTE: no other engine set is provisioned (node scripts/engine-set.mjs up); comparing the host's engines only.\n",
      );
  }
  const inProcess = selection.host
    ? deps.strategies
    : strategiesForSet(deps.strategies, selection.sets[0]!);
  const children = selection.host ? selection.sets : [];
  const childArgs = [
    ...(cmd.backends ?? []).flatMap((b) => ["--backend", b]),
    ...(cmd.checks ?? []).flatMap((c) => ["--check", c]),
  ];
  const childReports = children.map((set) => {
    if (!cmd.quiet)
      io.stderr.write(`engine set ${set.name}: running in a child process, side by side\n`);
    return compareInChild(process.argv[1] ?? "", set, childArgs, io.env);
  });
  const runIds = ids.filter((id) => inProcess.some((s) => s.id === id));
  const backends = runIds.map((id) => inProcess.find((s) => s.id === id)!.create());
  let report: Report;
  const started = Date.now();
  progress.begin(runIds);
  try {
    report = await deps.run(backends, {
      checks,
      onProgress: (e) =>
        progress.update({
          // Two backends may share an id (Swarm on one node and on a cluster): the strategy names the line.
          backendId: runIds[e.backendIndex ?? -1] ?? e.backendId,
          checkId: e.check,
          index: e.index,
          total: e.total,
          ...(e.result ? { outcome: e.result.outcome } : {}),
        }),
    });
  } finally {
    progress.done();
  }
  for (const [i, pending] of childReports.entries()) {
    try {
      const child = await pending;
      report = { ...report, backends: [...report.backends, ...child.backends] };
    } catch (error) {
      const set = children[i]!;
      const reason = `engine set ${set.name}: ${error instanceof Error ? error.message : String(error)}`;
      io.stderr.write(`ENGINE SET ${set.name.toUpperCase()} FAILED: ${reason}\n`);
      report = {
        ...report,
        backends: [
          ...report.backends,
          ...report.backends
            .filter((b) => runIds.includes(b.id))
            .map((b) => ({
              ...b,
              available: false,
              unavailableReason: reason,
              engine: { name: set.name, version: "unknown" },
              results: [],
              workloadStarts: 0,
              workloads: [],
              durationMs: 0,
            })),
        ],
      };
    }
  }
  if (children.length > 0) report = { ...report, durationMs: Date.now() - started };
  const catalogue = checkInfos(CHECKS);
  const tableOnStdout = cmd.out === undefined ? cmd.format === "table" : !cmd.quiet;
  if (cmd.out !== undefined) {
    const file = resolve(io.cwd, cmd.out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, render(cmd.format, report, { checks: catalogue }));
    if (!cmd.quiet) {
      io.stdout.write(render("table", report, { checks: catalogue, color: stdoutColor }));
      io.stderr.write(`Report (${cmd.format}) written to ${file}\n`);
    }
  } else {
    io.stdout.write(render(cmd.format, report, { checks: catalogue, color: stdoutColor }));
    // The table already lists unavailable backends; other formats on stdout get a note on stderr.
    if (cmd.format !== "table" && !cmd.quiet) {
      for (const b of report.backends.filter((x) => !x.available)) {
        io.stderr.write(`${b.id} not run: ${b.unavailableReason ?? "not available"}\n`);
      }
    }
  }
  const code = exitCodeForReport(report);
  if (baseline === undefined || cmd.baseline === undefined || code === EXIT.noBackend) return code;
  const diff = diffReports(baseline, report);
  const stream = tableOnStdout ? io.stdout : io.stderr;
  if (tableOnStdout) io.stdout.write("\n");
  stream.write(
    renderDiff(
      "table",
      diff,
      { file: cmd.baseline, report: baseline },
      { file: cmd.out ?? "this run", report },
      { color: tableOnStdout ? stdoutColor : stderrColor },
    ),
  );
  const diffCode = exitCodeForDiff(diff);
  // A regression is what the baseline is for, so it wins over a broken check elsewhere.
  if (diffCode === EXIT.worse) return EXIT.worse;
  return code === EXIT.ok ? diffCode : code;
}
