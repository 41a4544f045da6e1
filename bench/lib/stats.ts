/** Summaries of timing samples (ms), rounded for JSON. */

export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentile of sorted samples. */
function rank(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i] as number;
}

export function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    mean: round(sorted.length ? sum / sorted.length : 0),
    p50: round(rank(sorted, 0.5)),
    p90: round(rank(sorted, 0.9)),
    p99: round(rank(sorted, 0.99)),
    max: round(rank(sorted, 1)),
  };
}

export function mib(bytes: number): number {
  return round(bytes / (1024 * 1024), 1);
}
