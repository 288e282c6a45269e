import type { SecretBackend } from "@keyhole/core";
import type { BenchBackend } from "./backends.js";
import { benchDelivery, readerFor } from "./deliveries.js";
import { type BareSequence, type BenchImages, PID1, STEPS, type StepTimes } from "./engines.js";
import { type Breakdown, measure } from "./instrument.js";
import { fmtMs, fmtRatio, median, type Summary, summarize } from "./stats.js";

/** One backend's per-operation result: adapter and bare CLI, round by round. */
export interface PerOpResult {
  backend: string;
  engine: string;
  target: number;
  rounds: number;
  /** Time to make the backend and answer `ready()` (once per process; not in the ratio). */
  setupMs: number;
  adapter: { total: Summary; steps: StepTimes[]; breakdowns: Record<string, Breakdown>[] };
  bare: { total: Summary; steps: StepTimes[] };
  /** adapter ÷ bare of each round (rounds are interleaved A/B, B/A, …). */
  ratio: Summary;
  /** median(adapter) ÷ median(bare). */
  ratioOfMedians: number;
  met: boolean;
  /** Why the adapter half could not run, when it could not. */
  error?: string;
}

/** Runs the per-operation sequence `rounds` times through `subject` and through `bare`. */
export async function perOperation(
  subject: BenchBackend,
  bare: BareSequence,
  images: BenchImages,
  runId: string,
  rounds: number,
  log: (line: string) => void,
): Promise<PerOpResult> {
  const started = performance.now();
  const backend = subject.make();
  let n = 0;
  const name = () => `khbench-${runId}-op${n++}`;
  const value = () => `bench-value-${Math.random().toString(36).slice(2)}`;
  try {
    await backend.ready();
    const setupMs = performance.now() - started;
    log(`per-op ${subject.id}: backend ready in ${fmtMs(setupMs)}; warm-up round`);
    await adapterSequence(backend, subject.image(images), name(), value());
    await bare.run(name(), value());

    const adapterTotals: number[] = [];
    const bareTotals: number[] = [];
    const adapterSteps: StepTimes[] = [];
    const bareSteps: StepTimes[] = [];
    const breakdowns: Record<string, Breakdown>[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const runAdapter = async () => {
        const r = await adapterSequence(backend, subject.image(images), name(), value());
        adapterSteps.push(r.steps);
        breakdowns.push(r.breakdowns);
        adapterTotals.push(sum(r.steps));
      };
      const runBare = async () => {
        const steps = await bare.run(name(), value());
        bareSteps.push(steps);
        bareTotals.push(sum(steps));
      };
      // Interleave A/B then B/A so drift in machine load hits both halves alike.
      if (round % 2 === 0) {
        await runAdapter();
        await runBare();
      } else {
        await runBare();
        await runAdapter();
      }
      const ratio = adapterTotals[round]! / bareTotals[round]!;
      ratios.push(ratio);
      log(
        `per-op ${subject.id} round ${round + 1}/${rounds}: adapter ${fmtMs(adapterTotals[round]!)}, bare ${fmtMs(bareTotals[round]!)}, ratio ${fmtRatio(ratio)}`,
      );
    }
    const ratioOfMedians = median(adapterTotals) / median(bareTotals);
    return {
      backend: subject.id,
      engine: subject.engine,
      target: subject.target,
      rounds,
      setupMs,
      adapter: { total: summarize(adapterTotals), steps: adapterSteps, breakdowns },
      bare: { total: summarize(bareTotals), steps: bareSteps },
      ratio: summarize(ratios),
      ratioOfMedians,
      met: ratioOfMedians <= subject.target,
    };
  } finally {
    await backend.dispose();
    await bare.cleanup();
  }
}

/** The sequence through the adapter, each step measured with its breakdown. */
export async function adapterSequence(
  backend: SecretBackend,
  image: string,
  name: string,
  value: string,
): Promise<{ steps: StepTimes; breakdowns: Record<string, Breakdown> }> {
  const breakdowns: Record<string, Breakdown> = {};
  const step = async <T>(key: (typeof STEPS)[number], fn: () => Promise<T>): Promise<T> => {
    const { value: result, breakdown } = await measure(fn);
    breakdowns[key] = breakdown;
    return result;
  };
  const caps = backend.capabilities;
  const secret = await step("create", () => backend.createSecret(name, value));
  const workload = await step("run", () =>
    backend.run({
      image,
      command: PID1,
      secrets: [benchDelivery(secret, caps)],
    }),
  );
  try {
    const read = await step("exec", () =>
      workload.exec(["cat", workload.fileTargets[0]!], { user: readerFor(caps) }),
    );
    if (read.exitCode !== 0 || read.stdout !== value) {
      throw new Error(
        `${backend.id}: user ${readerFor(caps)} could not read ${workload.fileTargets[0]} back (exit ${read.exitCode})`,
      );
    }
  } finally {
    await step("stop", () => workload.stop());
  }
  await step("remove", () => backend.removeSecret(secret));
  const steps = Object.fromEntries(
    STEPS.map((k) => [k, breakdowns[k]!.wallMs]),
  ) as unknown as StepTimes;
  return { steps, breakdowns };
}

function sum(steps: StepTimes): number {
  return STEPS.reduce((total, k) => total + steps[k], 0);
}
