// One scaling scenario in a process of its own, so its peak RSS is the keyhole process's alone.
// Started by scaling.ts with one JSON argument; prints one `RESULT {…}` line.
import type { SecretBackend, SecretHandle, Workload } from "@keyhole/core";
import { benchBackends } from "./backends.js";
import { benchDelivery, readerFor } from "./deliveries.js";
import { type BenchImages, PID1 } from "./engines.js";

/** What scaling.ts asks a worker to do. */
export interface ScalingJob {
  backend: string;
  /** `secrets`: n secrets into one workload; `workloads`: n concurrent workloads, one secret each. */
  kind: "secrets" | "workloads";
  n: number;
  images: BenchImages;
  runId: string;
}

/** What a worker measured (ms, KiB). */
export interface ScalingMeasurement {
  setupMs: number;
  createMs: number;
  runMs: number;
  verifyMs: number;
  stopMs: number;
  removeMs: number;
  /** create + run + verify + stop + remove. */
  totalMs: number;
  /** RSS after the backend was ready, before the scenario (KiB). */
  baselineRssKiB: number;
  /** Peak RSS of this process over its whole life (KiB). */
  peakRssKiB: number;
  /** Workloads that saw a secret not their own, or not exactly their own value (must be 0). */
  isolationViolations: number;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2]!) as ScalingJob;
  const subject = benchBackends().find((b) => b.id === job.backend);
  if (!subject) throw new Error(`unknown backend ${job.backend}`);
  const t0 = performance.now();
  const backend = subject.make();
  try {
    await backend.ready();
    const setupMs = performance.now() - t0;
    const baselineRssKiB = Math.round(process.memoryUsage().rss / 1024);
    const image = subject.image(job.images);
    const m =
      job.kind === "secrets"
        ? await manySecrets(backend, image, job)
        : await manyWorkloads(backend, image, job);
    const result: ScalingMeasurement = {
      setupMs,
      ...m,
      totalMs: m.createMs + m.runMs + m.verifyMs + m.stopMs + m.removeMs,
      baselineRssKiB,
      peakRssKiB: process.resourceUsage().maxRSS,
    };
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await backend.dispose();
  }
}

type Phases = Omit<ScalingMeasurement, "setupMs" | "totalMs" | "baselineRssKiB" | "peakRssKiB">;

async function createSecrets(
  backend: SecretBackend,
  job: ScalingJob,
): Promise<{ handles: SecretHandle[]; values: string[] }> {
  const handles: SecretHandle[] = [];
  const values: string[] = [];
  for (let i = 0; i < job.n; i++) {
    const value = `bench-${i}-${Math.random().toString(36).slice(2)}`;
    values.push(value);
    handles.push(
      await backend.createSecret(`khbench-${job.runId}-${job.kind[0]}${job.n}-${i}`, value),
    );
  }
  return { handles, values };
}

/** n secrets delivered as files into one workload; one exec reads them all back. */
async function manySecrets(
  backend: SecretBackend,
  image: string,
  job: ScalingJob,
): Promise<Phases> {
  const caps = backend.capabilities;
  let t = performance.now();
  const { handles, values } = await createSecrets(backend, job);
  const createMs = performance.now() - t;
  t = performance.now();
  const workload = await backend.run({
    image,
    command: PID1,
    secrets: handles.map((h) => benchDelivery(h, caps)),
  });
  const runMs = performance.now() - t;
  let verifyMs = 0;
  let isolationViolations = 0;
  try {
    t = performance.now();
    // One exec for all n files: NUL after each value so values split back exactly.
    const read = await workload.exec(
      ["sh", "-c", 'for f in "$@"; do cat "$f"; printf "\\0"; done', "sh", ...workload.fileTargets],
      { user: readerFor(caps) },
    );
    verifyMs = performance.now() - t;
    const got = read.stdout.split("\0").slice(0, -1);
    if (
      read.exitCode !== 0 ||
      got.length !== values.length ||
      got.some((v, i) => v !== values[i])
    ) {
      isolationViolations++;
      process.stderr.write(`${backend.id}: ${job.n} secrets did not all read back exactly\n`);
    }
  } finally {
    t = performance.now();
    await workload.stop();
  }
  const stopMs = performance.now() - t;
  t = performance.now();
  for (const h of handles) await backend.removeSecret(h);
  const removeMs = performance.now() - t;
  return { createMs, runMs, verifyMs, stopMs, removeMs, isolationViolations };
}

/**
 * n workloads started at once, each with its own secret; each must see exactly one file under
 * its secrets dir, holding exactly its own value.
 */
async function manyWorkloads(
  backend: SecretBackend,
  image: string,
  job: ScalingJob,
): Promise<Phases> {
  const caps = backend.capabilities;
  let t = performance.now();
  const { handles, values } = await createSecrets(backend, job);
  const createMs = performance.now() - t;
  t = performance.now();
  const started = await Promise.allSettled(
    handles.map((h) => backend.run({ image, command: PID1, secrets: [benchDelivery(h, caps)] })),
  );
  const runMs = performance.now() - t;
  const workloads = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  let verifyMs = 0;
  let isolationViolations = 0;
  try {
    if (failed) throw failed.reason;
    t = performance.now();
    const checks = await Promise.all(workloads.map((w, i) => verifyOwnSecret(w, values[i]!)));
    verifyMs = performance.now() - t;
    isolationViolations = checks.filter((ok) => !ok).length;
  } finally {
    t = performance.now();
    await Promise.allSettled(workloads.map((w) => w.stop()));
  }
  const stopMs = performance.now() - t;
  t = performance.now();
  await Promise.all(handles.map((h) => backend.removeSecret(h)));
  const removeMs = performance.now() - t;
  return { createMs, runMs, verifyMs, stopMs, removeMs, isolationViolations };
}

async function verifyOwnSecret(w: Workload, value: string): Promise<boolean> {
  const target = w.fileTargets[0]!;
  const dir = target.slice(0, target.lastIndexOf("/"));
  // One exec per workload, as root (so a restrictive mode cannot hide a foreign file).
  const r = await w.exec(["sh", "-c", 'ls -A "$1"; printf "\\0"; cat "$2"', "sh", dir, target], {
    user: "0",
  });
  const [listing = "", content = ""] = r.stdout.split("\0");
  const entries = listing.split("\n").filter(Boolean);
  const own = target.slice(target.lastIndexOf("/") + 1);
  const ok = r.exitCode === 0 && entries.length === 1 && entries[0] === own && content === value;
  if (!ok) {
    process.stderr.write(
      `${w.backendId}: workload ${w.objectId.slice(0, 12)} sees [${entries.join(", ")}] under ${dir}, expected only ${own}${content === value ? "" : " (content differs)"}\n`,
    );
  }
  return ok;
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
