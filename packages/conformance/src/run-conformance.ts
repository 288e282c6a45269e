import { createRequire } from "node:module";
import { InvalidInputError, podmanEnv, type SecretBackend, type Workload } from "@keyhole/core";
import { ensureProbeImage, ensureProbeImageInfo } from "@keyhole/probe";
import { CHECKS, type CheckDefinition, type CheckPhase } from "./catalogue.js";
import { IMPLEMENTATIONS } from "./checks/index.js";
import { sightRun } from "./checks/lifecycle.js";
import { type BatchImpl, isBatch, type Part, type PartOutput } from "./checks/types.js";
import { type FixtureId, FixturePool, type FixtureState } from "./fixtures.js";
import { cliEnv } from "./host-engine.js";
import { type Gate, judge, type Measurement } from "./judge.js";
import { Pass, PassBaseline, partsScript, USERS } from "./pass.js";
import type { Redactor } from "./redaction.js";
import {
  type BackendReport,
  type CheckResult,
  type Evidence,
  type Report,
  SCHEMA_VERSION,
} from "./report.js";
import { type CheckSelection, selectChecks } from "./select.js";

/** What {@link runConformance} reports while it works. */
export interface ProgressEvent {
  /** `check-start` before a check runs, `check-done` with its result after. */
  type: "check-start" | "check-done";
  backendId: string;
  check: string;
  /**
   * Position of the backend in the list given to `runComparison` (0-based): tells apart two
   * backends with the same id (e.g. Docker Swarm on one node and on a cluster).
   */
  backendIndex?: number;
  /** 1-based position of the check within this backend's pass. */
  index: number;
  /** Number of checks in this backend's pass. */
  total: number;
  /** The (redacted) result, on `check-done`. */
  result?: CheckResult;
}

/** Options of {@link runConformance} and {@link runComparison}. */
export interface ConformanceOptions {
  /** Check ids or globs (`"env.*"`); default every check of the catalogue. */
  checks?: CheckSelection;
  /** Called before and after every check. Must not throw. */
  onProgress?: (event: ProgressEvent) => void;
  /** Aborts between checks; the backend is still disposed, then the signal's reason is thrown. */
  signal?: AbortSignal;
  /**
   * The probe image (busybox with users alice 2000 and bob 3000), or a function choosing it per
   * backend. Default: `ensureProbeImage()` from @keyhole/probe for engines of kind podman and
   * docker (referenced by id on Docker, so Swarm never tries a pull). Required for kind `"other"`.
   */
  image?: string | ((backend: SecretBackend) => string | undefined);
}

const PHASES: readonly CheckPhase[] = ["read", "host", "mutate", "dispose", "final"];

/** The version of this package, for the report's `tool` block. */
export const TOOL_VERSION: string = (
  createRequire(import.meta.url)("../package.json") as { version: string }
).version;

/**
 * A function that creates a backend. Handing the runner a factory rather than a backend lets it
 * take its baselines (temp dir entries, host process watch) **before** the backend exists, so
 * state the backend makes while it is created is looked at too.
 */
export type BackendFactory = () => SecretBackend | Promise<SecretBackend>;

/**
 * Runs the conformance catalogue (or `options.checks`) against one backend and returns the
 * report. The backend is **disposed** at the end (lifecycle.cleanup checks that dispose leaves
 * nothing behind), so hand it a backend made for this run — preferably as a factory
 * (`() => myBackend()`): then the baselines are taken before the backend is created (given a
 * backend, they are taken before its `ready()`). A factory that throws makes this reject.
 *
 * @example
 * ```ts
 * import { podmanFileBackend } from "@keyhole/podman";
 * import { runConformance } from "@keyhole/conformance";
 * const report = await runConformance(podmanFileBackend(), { checks: ["env.*", "file.*"] });
 * for (const r of report.backends[0]!.results) console.log(r.check, r.outcome, r.observed);
 * ```
 */
export function runConformance(
  backend: SecretBackend | BackendFactory,
  options: ConformanceOptions = {},
): Promise<Report> {
  return runComparison([backend], options);
}

/**
 * Runs the catalogue against several backends side by side (one pass per backend, all at
 * once) and returns one report. A backend whose `ready()` fails is recorded with
 * `available: false` and the error's message (with its fix command) as `unavailableReason`.
 * Every backend is disposed at the end.
 *
 * @example
 * ```ts
 * const report = await runComparison([podmanFileBackend(), dockerSwarmBackend()]);
 * ```
 */
export async function runComparison(
  backends: readonly (SecretBackend | BackendFactory)[],
  options: ConformanceOptions = {},
): Promise<Report> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const selected = selectChecks(options.checks);
  // Settled, not Promise.all: a factory that throws must not leave the other passes running
  // (and their backends undisposed) behind the rejection.
  const settled = await Promise.allSettled(
    backends.map((b, i) =>
      runBackend(b, selected, {
        ...options,
        ...(options.onProgress
          ? { onProgress: (e: ProgressEvent) => options.onProgress?.({ ...e, backendIndex: i }) }
          : {}),
      }),
    ),
  );
  const failed = settled.find((s) => s.status === "rejected");
  if (failed) throw failed.reason;
  const passes = settled.map((s) => (s as PromiseFulfilledResult<PassOutcome>).value);
  let report: Report = {
    schemaVersion: SCHEMA_VERSION,
    tool: { name: "@keyhole/conformance", version: TOOL_VERSION },
    startedAt,
    durationMs: Date.now() - started,
    backends: passes.map((p) => p.report),
  };
  // The last line of defence: no value of any pass may be in the report, whichever backend's
  // text carried it (each pass already checked its own part as hygiene.report-redacted).
  for (const { redactor } of passes) {
    if (redactor) report = redactor.sweep(report).value;
  }
  return report;
}

interface PassOutcome {
  report: BackendReport;
  redactor?: Redactor;
}

async function runBackend(
  target: SecretBackend | BackendFactory,
  selected: readonly CheckDefinition[],
  options: ConformanceOptions,
): Promise<PassOutcome> {
  const baseline = new PassBaseline();
  let backend: SecretBackend;
  try {
    backend = typeof target === "function" ? await target() : target;
  } catch (error) {
    await baseline.procs.stop();
    throw error;
  }
  try {
    return await runPass(backend, baseline, selected, options);
  } finally {
    await baseline.procs.stop();
  }
}

async function runPass(
  backend: SecretBackend,
  baseline: PassBaseline,
  selected: readonly CheckDefinition[],
  options: ConformanceOptions,
): Promise<PassOutcome> {
  const started = Date.now();
  const base: BackendReport = {
    id: backend.id,
    available: true,
    engine: { name: backend.engine.name, version: "unknown" },
    capabilities: { ...backend.capabilities },
    results: [],
    workloadStarts: 0,
    workloads: [],
    durationMs: 0,
  };
  // The probe image is looked up (or built) while the backend gets ready: neither needs the
  // other, and each is mostly waiting on the engine.
  const imageReady = resolveImage(backend, options);
  imageReady.catch(() => {});
  try {
    base.engine.version = (await backend.ready()).version;
    // ready() may tell more about the engine (a swarm's nodes), and the report should say it.
    // Some capabilities are only known once ready() asked the engine (Podman's replaceInPlace
    // from its version).
    base.capabilities = { ...backend.capabilities };
    base.engine.name = backend.engine.name;
  } catch (error) {
    await backend.dispose().catch(() => {});
    return {
      report: {
        ...base,
        available: false,
        unavailableReason: error instanceof Error ? error.message : String(error),
        durationMs: Date.now() - started,
      },
    };
  }
  let image: string;
  try {
    image = await imageReady;
  } catch (error) {
    await backend.dispose().catch(() => {});
    const reason = error instanceof Error ? error.message : String(error);
    return {
      report: {
        ...base,
        results: selected.map((c) => ({ check: c.id, outcome: "error", reason, durationMs: 0 })),
        durationMs: Date.now() - started,
      },
    };
  }

  const pass = new Pass(backend, image, baseline, options.signal);
  if (selected.some((c) => c.group === "rest")) {
    // Asked early and cached: the answer (e.g. `podman info`) is slow on a busy host.
    pass.storageScope().catch(() => {});
  }
  const needed = new Set<FixtureId>(selected.flatMap((c) => IMPLEMENTATIONS[c.id]?.fixtures ?? []));
  const pool = new FixturePool(pass, needed);
  const results = new Map<string, CheckResult>();
  const ordered = [...selected].sort(
    (a, b) =>
      PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || CHECKS.indexOf(a) - CHECKS.indexOf(b),
  );
  let disposed = false;
  let setupMs = 0;
  let disposeMs = 0;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    if (pass.cli && selected.some((c) => c.id === "lifecycle.cleanup")) {
      pass.beforeDispose = await sightRun(pass).catch((error: unknown) => ({
        ok: false,
        code: -1,
        ids: [],
        stderr: error instanceof Error ? error.message : String(error),
      }));
    }
    const t = Date.now();
    try {
      await backend.dispose();
      pass.disposeError = null;
    } catch (error) {
      pass.disposeError = pass.redactor.text(
        error instanceof Error ? error.message : String(error),
      );
    }
    disposeMs = Date.now() - t;
    pass.procs.sample();
  };
  try {
    // Every workload starts before the first check, so dispose-phase checks look at a run that
    // really used its secrets. All groups start at once: each start is mostly engine wait
    // (bench/README.md measured two at a time as a third of the podman-file pass).
    await Promise.all([...needed].map((f) => pool.get(f)));
    setupMs = Date.now() - started;
    const batched = await runBatches(selected, pass, pool);
    let index = 0;
    for (const def of ordered) {
      pass.throwIfAborted();
      index++;
      if ((def.phase === "dispose" || def.phase === "final") && !disposed) await dispose();
      if (def.id === "hygiene.report-redacted") continue;
      options.onProgress?.({
        type: "check-start",
        backendId: backend.id,
        check: def.id,
        index,
        total: ordered.length,
      });
      const result = await runCheck(def, pass, pool, batched.get(def.id));
      results.set(def.id, result);
      options.onProgress?.({
        type: "check-done",
        backendId: backend.id,
        check: def.id,
        index,
        total: ordered.length,
        result,
      });
    }
  } finally {
    await dispose();
    await pass.procs.settle();
  }

  let report: BackendReport = {
    ...base,
    results: selected.filter((c) => results.has(c.id)).map((c) => results.get(c.id)!),
    workloadStarts: pass.workloadRecords.filter((w) => w.started).length,
    workloads: pass.workloadRecords,
    execSessions: pass.execSessions,
    hostProbes: { ...pass.hostProbes },
    setupMs,
    disposeMs,
    durationMs: Date.now() - started,
  };
  const def = selected.find((c) => c.id === "hygiene.report-redacted");
  const swept = pass.redactor.sweep(report);
  report = swept.value;
  const { leaked } = swept;
  if (def) {
    // Positive control: the same sweep finds a value planted in a copy of the report.
    const planted = [...pass.textValues.values()][0];
    const control = planted !== undefined && pass.redactor.sweep({ report, planted }).leaked;
    const result: CheckResult = {
      ...judge(
        def,
        pass.caps,
        { kind: "accepted" },
        control
          ? {
              outcome: leaked ? "exposed" : "protected",
              observed: leaked
                ? "a value was in the report (redacted before returning it)"
                : `${swept.chars} characters, none of ${pass.redactor.forms.length} value forms`,
            }
          : {
              outcome: "error",
              reason:
                planted === undefined
                  ? "The pass made no test value, so there was nothing to look for in the report."
                  : "Positive control failed: the sweep did not find a value planted in a copy of the report.",
            },
      ),
      durationMs: 0,
    };
    report.results = selected
      .map((c) => (c.id === def.id ? result : results.get(c.id)))
      .filter((r): r is CheckResult => r !== undefined);
    const i = ordered.indexOf(def) + 1;
    const event = { backendId: backend.id, check: def.id, index: i, total: ordered.length };
    options.onProgress?.({ type: "check-start", ...event });
    options.onProgress?.({
      type: "check-done",
      backendId: backend.id,
      check: def.id,
      index: i,
      total: ordered.length,
      result,
    });
  }
  return { report, redactor: pass.redactor };
}

/** The share of a batched exec session that belongs to one check. */
export interface BatchShare {
  outputs?: PartOutput[];
  error?: string;
  evidence?: Evidence;
  ms: number;
}

/**
 * Runs the parts of every batched (read-only, in-container) check in one exec session per
 * workload and splits the output by check: one engine round trip per workload instead of one
 * per check.
 */
async function runBatches(
  selected: readonly CheckDefinition[],
  pass: Pass,
  pool: FixturePool,
): Promise<Map<string, BatchShare>> {
  const byWorkload = new Map<
    Workload,
    Array<{ def: CheckDefinition; impl: BatchImpl; parts: Part[] }>
  >();
  for (const def of selected) {
    const impl = IMPLEMENTATIONS[def.id];
    if (!impl || !isBatch(impl)) continue;
    const states = await Promise.all(impl.fixtures.map((f) => pool.get(f)));
    const workload = states[0]?.workload;
    if (states[0]?.gate.kind !== "accepted" || !workload) continue;
    const list = byWorkload.get(workload) ?? [];
    list.push({ def, impl, parts: impl.parts(states) });
    byWorkload.set(workload, list);
  }
  const shares = new Map<string, BatchShare>();
  for (const [workload, entries] of byWorkload) {
    pass.throwIfAborted();
    const started = Date.now();
    try {
      const { outputs, result } = await pass.runParts(
        workload,
        entries.flatMap((e) => e.parts),
      );
      const ms = Math.round((Date.now() - started) / entries.length);
      let at = 0;
      for (const e of entries) {
        const mine = outputs.slice(at, at + e.parts.length);
        at += e.parts.length;
        const evidence = pass.redactor.evidence({
          where: "container",
          user: USERS.root,
          argv: ["sh", "-c", partsScript(e.parts)],
          exitCode: result.exitCode,
          stdout: mine.map((o, i) => `@@part=${i}${o.raw}`).join(""),
          ...(result.stderr ? { stderr: result.stderr } : {}),
          note: `${e.impl.note} (parts as root, or su to alice/bob; one exec session shared by ${entries.length} checks)`,
        });
        shares.set(e.def.id, { outputs: mine, evidence, ms });
      }
    } catch (error) {
      if (pass.signal?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      for (const e of entries) shares.set(e.def.id, { error: message, ms: 0 });
    }
  }
  return shares;
}

async function runCheck(
  def: CheckDefinition,
  pass: Pass,
  pool: FixturePool,
  share: BatchShare | undefined,
): Promise<CheckResult> {
  const started = Date.now();
  const impl = IMPLEMENTATIONS[def.id];
  const states: FixtureState[] = [];
  let failure: string | undefined;
  try {
    for (const f of impl?.fixtures ?? []) states.push(await pool.get(f));
  } catch (error) {
    if (pass.signal?.aborted) throw error;
    failure = error instanceof Error ? error.message : String(error);
  }
  const result = await checkWithStates(def, pass, states, share, failure);
  return { ...result, durationMs: Date.now() - started + (share?.ms ?? 0) };
}

/**
 * Runs one check on fixtures already set up and judges it (the part of the runner the unit
 * tests drive with synthetic probe output). `failure` is an error met while setting them up.
 */
export async function checkWithStates(
  def: CheckDefinition,
  pass: Pass,
  states: FixtureState[],
  share?: BatchShare,
  failure?: string,
): Promise<Omit<CheckResult, "durationMs">> {
  pass.evidence = [];
  const impl = IMPLEMENTATIONS[def.id];
  const missingNeed = unmetNeed(def, pass.backend.engine);
  if (missingNeed) return { check: def.id, ...missingNeed };
  let result: Omit<CheckResult, "durationMs">;
  try {
    if (!impl) throw new Error(`keyhole conformance bug: no implementation for ${def.id}.`);
    if (failure) throw new Error(failure);
    let gate: Gate = states[0]?.gate ?? { kind: "accepted" };
    let measured: Measurement | undefined;
    // No check may judge a delivery nobody proved: a failed positive control is an error,
    // whatever the probes would have said.
    const unproven = gate.kind === "accepted" ? controlFailure(states) : undefined;
    if (unproven) {
      if (unproven.evidence) pass.evidence.push(unproven.evidence);
      gate = { kind: "error", message: unproven.message, accepted: true };
    }
    if (gate.kind !== "accepted") {
      pass.record({
        where: "host",
        argv: ["backend.run", `(${impl.fixtures[0]} delivery)`],
        note: `refused: ${gate.message}`,
      });
    } else if (isBatch(impl)) {
      if (share?.error) throw new Error(share.error);
      let outputs = share?.outputs;
      if (share?.evidence) pass.evidence.push(share.evidence);
      if (!outputs) {
        const parts = impl.parts(states);
        const { outputs: out, result, argv } = await pass.runParts(states[0]!.workload!, parts);
        pass.record({
          where: "container",
          user: USERS.root,
          argv,
          exitCode: result.exitCode,
          stdout: result.stdout,
          stderr: result.stderr,
          note: impl.note,
        });
        outputs = out;
      }
      const problem = outputs.find((o) => o.problem)?.problem;
      if (problem) throw new Error(problem);
      measured = impl.interpret(outputs, states, pass);
    } else {
      measured = await impl.measure({ pass, def }, states);
    }
    result = judge(def, pass.caps, gate, {
      outcome: "error",
      ...measured,
      evidence: pass.evidence,
    });
  } catch (error) {
    if (pass.signal?.aborted) throw error;
    const message = error instanceof Error ? error.message : String(error);
    result = judge(
      def,
      pass.caps,
      { kind: "error", message },
      { outcome: "error", evidence: pass.evidence },
    );
  }
  const r = pass.redactor;
  return {
    ...result,
    ...(result.observed !== undefined ? { observed: r.text(result.observed) } : {}),
    ...(result.reason !== undefined ? { reason: r.text(result.reason) } : {}),
    ...(result.contradiction !== undefined ? { contradiction: r.text(result.contradiction) } : {}),
  };
}

/**
 * Why the engine is not what `def.needs` asks for, or undefined when it is: `unsupported` when
 * the check does not apply (one node, no node control), `unmeasurable` when it applies but the
 * nodes' disks cannot be read from here.
 */
export function unmetNeed(
  def: CheckDefinition,
  engine: SecretBackend["engine"],
): { outcome: "unsupported" | "unmeasurable"; reason: string } | undefined {
  const needs = def.needs ?? [];
  const nodes = engine.cluster?.nodes ?? [];
  if (needs.includes("cluster") && nodes.length < 2) {
    return {
      outcome: "unsupported",
      reason: `Not a multi-node engine: ${engine.name} reports ${nodes.length === 0 ? "no cluster (engine.cluster)" : "one node"}; cluster checks need ≥ 2 nodes (for Docker Swarm: dockerSwarmBackend({ nodes }) with each node's endpoint).`,
    };
  }
  if (needs.includes("cluster") && nodes.some((n) => (n.storage ?? []).length === 0)) {
    const blind = nodes.filter((n) => (n.storage ?? []).length === 0).map((n) => n.name);
    return {
      outcome: "unmeasurable",
      reason: `The data roots of node(s) ${blind.join(", ")} are not readable from this host (no storage in engine.cluster.nodes), so no copy there could be looked for.`,
    };
  }
  if (needs.includes("nodeControl") && !engine.cluster?.control) {
    return {
      outcome: "unsupported",
      reason:
        "keyhole cannot kill and restart this cluster's nodes (no engine.cluster.control); only a cluster keyhole brought up itself (node scripts/cluster.mjs up) has that.",
    };
  }
  return undefined;
}

/**
 * The first fixture of `states` whose delivery was accepted but not proven by its positive
 * control (or never measured), as the reason a check must be `error`.
 */
export function controlFailure(
  states: readonly FixtureState[],
): { message: string; evidence?: Evidence } | undefined {
  for (const s of states) {
    if (s.gate.kind !== "accepted") continue;
    if (!s.control) {
      return { message: `Positive control missing: the ${s.id} delivery was never proven.` };
    }
    if (!s.control.ok) {
      return {
        message: `Positive control failed: the ${s.id} delivery is not proven — ${s.control.observed}`,
        ...(s.control.evidence ? { evidence: s.control.evidence } : {}),
      };
    }
  }
  return undefined;
}

async function resolveImage(backend: SecretBackend, options: ConformanceOptions): Promise<string> {
  const chosen = typeof options.image === "function" ? options.image(backend) : options.image;
  if (chosen) return chosen;
  const { kind } = backend.engine;
  const cli = backend.engine.cli;
  if (kind === "podman") {
    return ensureProbeImage(
      "podman",
      cli && cli.length > 0
        ? { binary: cli[0] as string, globalArgs: cli.slice(1), env: cliEnv(backend.engine) }
        : { env: podmanEnv({ ...process.env, ...backend.engine.env }) },
    );
  }
  if (kind === "docker") {
    const env = { ...process.env, ...backend.engine.env };
    if (backend.engine.endpoint?.startsWith("unix://")) env.DOCKER_HOST = backend.engine.endpoint;
    return (await ensureProbeImageInfo("docker", { env })).id;
  }
  throw new InvalidInputError(
    backend.id,
    `The backend runs on an engine of kind "${kind}", for which keyhole cannot build the probe image. Pass options.image: an image with busybox (sh, su, ps, stat, sha256sum…) and users alice (2000) and bob (3000).`,
  );
}
