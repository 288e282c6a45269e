/** Median and spread of a sample of durations (ms) or ratios. */
export interface Summary {
  n: number;
  median: number;
  min: number;
  max: number;
  /** First and third quartile (linear interpolation). */
  q1: number;
  q3: number;
}

/** Summarises `values`; an empty sample gives NaN everywhere. */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
  };
}

/** The `q` quantile of an ascending sample, interpolating between neighbours. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  return summarize(values).median;
}

/** `1234.5` ms → `"1.23 s"`, `45.2` → `"45 ms"`. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}

/** A ratio with two decimals. */
export function fmtRatio(r: number): string {
  return Number.isFinite(r) ? r.toFixed(2) : "–";
}

/** `median (min–max)` of a duration sample. */
export function fmtSummaryMs(s: Summary): string {
  return `${fmtMs(s.median)} (${fmtMs(s.min)}–${fmtMs(s.max)})`;
}

/** `median (min–max)` of a ratio sample. */
export function fmtSummaryRatio(s: Summary): string {
  return `${fmtRatio(s.median)} (${fmtRatio(s.min)}–${fmtRatio(s.max)})`;
}

/**
 * The growth exponent k in `time ≈ c·n^k` between two sizes: 1 is linear, below 1 is better
 * than linear (fixed costs amortised), above 1 is worse.
 */
export function growthExponent(n1: number, t1: number, n2: number, t2: number): number {
  return Math.log(t2 / t1) / Math.log(n2 / n1);
}
