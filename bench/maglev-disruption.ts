/**
 * Maglev table disruption and balance for every backend count N from 1 to
 * 1000 (issue 14, "tables that do not reshuffle"), printed as one JSON
 * object. Pure computation, no root. For each N, the set of the first N
 * backends of a fixed universe and each single change to it (one added or
 * removed: random, first or last by name; test/helpers/maglev-sweep.ts):
 * how much of the flows of the backends that stay moves beyond what the
 * change forces ("excess"), and the largest share over the fair one.
 * test/unit/maglev-disruption.test.ts asserts the bound; this prints the
 * figures docs/reconcile.md quotes.
 *
 * Run: npx tsx bench/maglev-disruption.ts [--max-size 16381] [--to 1000]
 *   --max-size is --maglev-table-size (1000003: M >= 100 N for every N <= 1000).
 */
import { maglevTableSize } from '../src/reconcile/maglev.js';
import { balance, CHANGES, sweep, SWEEP_MAX_N } from '../test/helpers/maglev-sweep.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const maxSize = arg('max-size', 16381);
const to = Math.min(SWEEP_MAX_N, arg('to', SWEEP_MAX_N));

interface Bucket { from: number; to: number; sizes: Set<number>; worst: number; sameSize: number; sum: number; count: number; balance: number; worstAt: string }

/** Ranges of N by table size. */
const buckets: Bucket[] = [];
function bucketOf(n: number): Bucket {
  const m = maglevTableSize(n, maxSize);
  let b = buckets[buckets.length - 1];
  if (!b || !b.sizes.has(m)) {
    b = { from: n, to: n, sizes: new Set([m]), worst: -1, sameSize: -1, sum: 0, count: 0, balance: 0, worstAt: '' };
    buckets.push(b);
  }
  b.to = n;
  return b;
}

const perChange = new Map(CHANGES.map((c) => [c, { worst: -1, worstAt: '', sum: 0, count: 0 }]));
const boundaries: { change: string; n: number; from: number; to: number; excess: number }[] = [];
const started = performance.now();
sweep(Array.from({ length: to }, (_, i) => i + 1), maxSize, (o) => {
  const b = bucketOf(o.n);
  if ('table' in o) {
    b.balance = Math.max(b.balance, balance(o.table, o.n));
    return;
  }
  const c = perChange.get(o.change);
  if (!c) throw new Error(o.change);
  c.sum += o.excess;
  c.count++;
  if (o.excess > c.worst) { c.worst = o.excess; c.worstAt = `N=${o.n}`; }
  b.sum += o.excess;
  b.count++;
  if (o.excess > b.worst) { b.worst = o.excess; b.worstAt = `N=${o.n} ${o.change}`; }
  if (o.from === o.to) b.sameSize = Math.max(b.sameSize, o.excess);
  if (o.from !== o.to) boundaries.push({ change: o.change, n: o.n, from: o.from, to: o.to, excess: round(o.excess) });
});

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}

process.stdout.write(`${JSON.stringify({
  maxSize, backendCounts: `1..${to}`, seconds: round((performance.now() - started) / 1000),
  note: 'excess: fraction of the flows of the backends that stay that move beyond 1/(N+1) (one added) or 0 (one removed)',
  byChange: Object.fromEntries([...perChange].map(([k, v]) => [k, { worst: round(v.worst), worstAt: v.worstAt, mean: round(v.sum / v.count) }])),
  bySize: buckets.map((b) => ({
    n: `${b.from}..${b.to}`, m: [...b.sizes][0], worstExcess: round(b.worst), worstAt: b.worstAt, worstExcessSameSize: round(b.sameSize), meanExcess: round(b.sum / b.count), worstBalance: round(b.balance),
  })),
  boundaries,
}, null, 1)}\n`);
