import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BenchBackend } from "./backends.js";
import type { BenchImages } from "./engines.js";
import type { ScalingJob, ScalingMeasurement } from "./scaling-worker.js";
import { fmtMs, growthExponent } from "./stats.js";

/** Sizes measured by default. */
export const SECRET_COUNTS = [1, 10, 100] as const;
export const WORKLOAD_COUNTS = [1, 5, 20] as const;

/** One scenario's measurement, with per-unit times. */
export interface ScalingPoint extends ScalingMeasurement {
  n: number;
  /** totalMs ÷ n. */
  perUnitMs: number;
}

/** One backend × kind: the points and how total time grows with n. */
export interface ScalingSeries {
  backend: string;
  kind: ScalingJob["kind"];
  points: ScalingPoint[];
  /** k in total ≈ c·n^k between the smallest and largest n (1 = linear). */
  exponent: number;
  /** k between the two largest n, where fixed costs weigh least. */
  exponentTail: number;
  verdict: "better than linear" | "linear" | "worse than linear";
  error?: string;
}

/** Runs every scaling scenario for `subject`, each in its own worker process. */
export async function scaling(
  subject: BenchBackend,
  images: BenchImages,
  runId: string,
  sizes: { secrets: readonly number[]; workloads: readonly number[] },
  log: (line: string) => void,
): Promise<ScalingSeries[]> {
  const series: ScalingSeries[] = [];
  for (const kind of ["secrets", "workloads"] as const) {
    const points: ScalingPoint[] = [];
    let error: string | undefined;
    for (const n of kind === "secrets" ? sizes.secrets : sizes.workloads) {
      try {
        const m = await runWorker({ backend: subject.id, kind, n, images, runId });
        points.push({ ...m, n, perUnitMs: m.totalMs / n });
        log(
          `scaling ${subject.id} ${n} ${kind}: total ${fmtMs(m.totalMs)} (${fmtMs(m.totalMs / n)} per ${kind === "secrets" ? "secret" : "workload"}), run ${fmtMs(m.runMs)}, peak RSS ${(m.peakRssKiB / 1024).toFixed(0)} MiB${m.isolationViolations ? `, ${m.isolationViolations} ISOLATION VIOLATION(S)` : ""}`,
        );
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
        log(`scaling ${subject.id} ${n} ${kind}: FAILED ${error}`);
        break;
      }
    }
    series.push({
      backend: subject.id,
      kind,
      points,
      ...growth(points),
      ...(error ? { error } : {}),
    });
  }
  return series;
}

function growth(
  points: readonly ScalingPoint[],
): Pick<ScalingSeries, "exponent" | "exponentTail" | "verdict"> {
  const first = points[0];
  const last = points[points.length - 1];
  const beforeLast = points[points.length - 2];
  if (!first || !last || !beforeLast || first === last) {
    return { exponent: Number.NaN, exponentTail: Number.NaN, verdict: "linear" };
  }
  const exponent = growthExponent(first.n, first.totalMs, last.n, last.totalMs);
  const exponentTail = growthExponent(beforeLast.n, beforeLast.totalMs, last.n, last.totalMs);
  // Judged over the widest span (the tail between two neighbouring sizes is noisier on a shared
  // machine; it is reported alongside). ±0.1 around 1 counts as linear.
  const k = exponent;
  const verdict = k < 0.9 ? "better than linear" : k <= 1.1 ? "linear" : "worse than linear";
  return { exponent, exponentTail, verdict };
}

function runWorker(job: ScalingJob): Promise<ScalingMeasurement> {
  const worker = fileURLToPath(new URL("./scaling-worker.js", import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, JSON.stringify(job)], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGINT"), 15 * 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code === 0 && line) {
        const m = JSON.parse(line.slice("RESULT ".length)) as ScalingMeasurement;
        if (err.trim()) process.stderr.write(err);
        resolve(m);
      } else {
        // The error's message lines, not its stack frames.
        const lines = err
          .trim()
          .split("\n")
          .filter((l) => l.trim() && !/^\s+at /.test(l));
        reject(new Error(`worker exited ${code}: ${lines.slice(0, 6).join(" | ")}`));
      }
    });
  });
}
