/**
 * Primes for Maglev table sizes. Sizes are at most ~10^6 (--maglev-table-size
 * is capped at 1,000,003), so trial division is exact and fast enough; results
 * are memoised because the reconciler asks for the same few sizes again and again.
 */

export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) {
    if (n % d === 0 || n % (d + 2) === 0) return false;
  }
  return true;
}

const atLeastCache = new Map<number, number>();
const atMostCache = new Map<number, number>();

/** The smallest prime >= n. */
export function primeAtLeast(n: number): number {
  const start = Math.max(2, Math.ceil(n));
  const hit = atLeastCache.get(start);
  if (hit !== undefined) return hit;
  let p = start;
  while (!isPrime(p)) p++;
  atLeastCache.set(start, p);
  return p;
}

/** The largest prime <= n, or undefined when n < 2. */
export function primeAtMost(n: number): number | undefined {
  const start = Math.floor(n);
  if (start < 2) return undefined;
  const hit = atMostCache.get(start);
  if (hit !== undefined) return hit;
  let p = start;
  while (!isPrime(p)) p--;
  atMostCache.set(start, p);
  return p;
}
