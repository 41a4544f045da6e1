/**
 * Maglev table generation: the table size rule, the fill (Maglev's
 * permutations, claimed depth-major), and the properties issue 3 asks for:
 * every backend's share within 1% of fair when M >= 100 N (exact here: floor
 * or ceil of M/N), and removing one of N backends moving 1/N + 2% of the slots
 * at most. The last holds on average for every N and for every single removal
 * at N = 2, 100 and 1000; for N between 3 and ~20 single removals can exceed it
 * (no exactly-balanced table can be minimal for every removal), less often
 * than with the paper's own fill order, which the comparison test measures.
 */
import test from 'ava';
import { DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_MAGLEV_MIN_SIZE } from '../../src/bpf/consts.generated.js';
import {
  maglevPermutation, maglevTable, maglevTableSize, type MaglevBackend,
} from '../../src/reconcile/maglev.js';
import { isPrime, primeAtLeast, primeAtMost } from '../../src/reconcile/primes.js';

const LARGE_MAX = 1_000_003;
const SIZES = [1, 2, 3, 10, 100, 1000];

/** N backends named like pod endpoints, ids 1..N. */
function backends(n: number, prefix = '198.18'): MaglevBackend[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i + 1,
    name: `${prefix}.${(i >> 8) & 255}.${i & 255}:8080`,
  }));
}

function counts(table: Uint32Array): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of table) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}

function movedSlots(a: Uint32Array, b: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Deterministic shuffle (xorshift), so a failure reproduces. */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function byName(a: MaglevBackend, b: MaglevBackend): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Full permutation lists, as in the paper's pseudocode. */
function permutations(sorted: readonly MaglevBackend[], m: number): number[][] {
  return sorted.map((b) => {
    const { offset, skip } = maglevPermutation(b.name, m);
    return Array.from({ length: m }, (_, j) => (offset + j * skip) % m);
  });
}

/**
 * What maglevTable computes, written the slow obvious way: at each depth j,
 * every backend with quota left (in name order) takes its j-th preferred slot
 * when free; quotas floor/ceil(M/N), the first M mod N backends by name get one more.
 */
function referenceTable(bs: readonly MaglevBackend[], m: number): Uint32Array {
  const sorted = [...bs].sort(byName);
  const perm = permutations(sorted, m);
  const quota = sorted.map((_, i) => Math.floor(m / sorted.length) + (i < m % sorted.length ? 1 : 0));
  const entry = new Array<number>(m).fill(-1);
  let n = 0;
  for (let j = 0; n < m; j++) {
    for (let i = 0; i < sorted.length && n < m; i++) {
      if (quota[i] === 0) continue;
      const c = (perm[i] as number[])[j] as number;
      if (entry[c] !== -1) continue;
      entry[c] = i;
      quota[i] = (quota[i] as number) - 1;
      n++;
    }
  }
  return Uint32Array.from(entry, (i) => (sorted[i] as MaglevBackend).id);
}

/** The paper's fill (NSDI'16, Pseudocode 1): round-robin turns, each backend searching ahead for a free slot. */
function paperTable(bs: readonly MaglevBackend[], m: number): Uint32Array {
  const sorted = [...bs].sort(byName);
  const perm = permutations(sorted, m);
  const next = sorted.map(() => 0);
  const entry = new Array<number>(m).fill(-1);
  let n = 0;
  for (;;) {
    for (let i = 0; i < sorted.length; i++) {
      let c = (perm[i] as number[])[next[i] as number] as number;
      while ((entry[c] as number) >= 0) {
        next[i] = (next[i] as number) + 1;
        c = (perm[i] as number[])[next[i] as number] as number;
      }
      entry[c] = i;
      next[i] = (next[i] as number) + 1;
      n++;
      if (n === m) return Uint32Array.from(entry, (k) => (sorted[k] as MaglevBackend).id);
    }
  }
}

// ---- size ------------------------------------------------------------------

// The ladder: smallest primes >= 251 x 2^k: 251, 503, 1009, 2011, 4019, 8039, 16067, ...
const sizeCases: [string, number, number, number][] = [
  ['no backends get the minimum', 0, DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_MAGLEV_MIN_SIZE],
  ['one backend gets the minimum', 1, DSRLB_MAGLEV_DEFAULT_SIZE, 251],
  ['two backends still fit the minimum (200 < 251)', 2, DSRLB_MAGLEV_DEFAULT_SIZE, 251],
  ['three backends: the next step, 503', 3, DSRLB_MAGLEV_DEFAULT_SIZE, 503],
  ['five backends keep 503', 5, DSRLB_MAGLEV_DEFAULT_SIZE, 503],
  ['six to ten backends share 1009', 6, DSRLB_MAGLEV_DEFAULT_SIZE, 1009],
  ['ten backends: 1009 >= 1000', 10, DSRLB_MAGLEV_DEFAULT_SIZE, 1009],
  ['eleven backends: 2011', 11, DSRLB_MAGLEV_DEFAULT_SIZE, 2011],
  ['100 backends: 16067 (>= 10000)', 100, DSRLB_MAGLEV_DEFAULT_SIZE, 16067],
  ['160 backends: 16067 still below the default maximum', 160, DSRLB_MAGLEV_DEFAULT_SIZE, 16067],
  ['161 backends are clamped to the default maximum', 161, DSRLB_MAGLEV_DEFAULT_SIZE, 16381],
  ['1000 backends are clamped to the default maximum', 1000, DSRLB_MAGLEV_DEFAULT_SIZE, 16381],
  ['1000 backends with a large maximum: the step >= 100000', 1000, LARGE_MAX, 128519],
  ['a maximum that is not prime is rounded down to a prime', 1000, 16384, 16381],
  ['a maximum equal to the minimum', 50, 251, 251],
];

for (const [name, n, max, expected] of sizeCases) {
  test(`table size: ${name}`, (t) => {
    const m = maglevTableSize(n, max);
    t.is(m, expected);
    t.true(isPrime(m));
  });
}

test('table size: every size is a prime in [min, max] and >= 100 N unless clamped', (t) => {
  for (let n = 0; n <= 400; n++) {
    const m = maglevTableSize(n);
    t.true(isPrime(m), `N=${n}`);
    t.true(m >= DSRLB_MAGLEV_MIN_SIZE && m <= DSRLB_MAGLEV_DEFAULT_SIZE, `N=${n}`);
    if (m < DSRLB_MAGLEV_DEFAULT_SIZE) t.true(m >= 100 * n, `N=${n}`);
  }
});

test('table size: removing or adding a backend keeps M unless the count crosses a doubling', (t) => {
  let changes = 0;
  for (let n = 1; n < 160; n++) if (maglevTableSize(n) !== maglevTableSize(n + 1)) changes++;
  // Steps at 2->3, 5->6, 10->11, 20->21, 40->41, 80->81: six in 160.
  t.is(changes, 6);
});

test('table size: a maximum below the minimum or a bad count is refused', (t) => {
  t.throws(() => maglevTableSize(1, 250), { instanceOf: RangeError, message: /below the minimum/ });
  t.throws(() => maglevTableSize(-1), { instanceOf: RangeError });
  t.throws(() => maglevTableSize(1.5), { instanceOf: RangeError });
});

test('primes: isPrime, primeAtLeast and primeAtMost agree with a sieve up to 20000', (t) => {
  const limit = 20000;
  const composite = new Uint8Array(limit + 1);
  composite[0] = composite[1] = 1;
  for (let i = 2; i * i <= limit; i++) if (!composite[i]) for (let j = i * i; j <= limit; j += i) composite[j] = 1;
  for (let i = 0; i <= limit; i++) if (isPrime(i) !== !composite[i]) t.fail(`isPrime(${i})`);
  t.is(primeAtLeast(16300), 16301);
  t.is(primeAtLeast(251), 251);
  t.is(primeAtMost(16384), 16381);
  t.is(primeAtMost(1), undefined);
  t.true(isPrime(1_000_003));
});

// ---- the algorithm -----------------------------------------------------------

test('the table is exactly the depth-major fill written the slow obvious way', (t) => {
  for (const [n, m] of [[1, 251], [2, 251], [3, 307], [7, 701], [10, 1009], [40, 4001], [300, 16381]] as const) {
    const bs = backends(n);
    t.deepEqual(maglevTable(bs, m), referenceTable(bs, m), `N=${n} M=${m}`);
  }
});

test('the table equals the slow obvious fill for 300 random backend sets and sizes (the fast endgame included)', (t) => {
  const sizes = [251, 257, 307, 401, 503, 701, 1009, 2003, 4001];
  let seed = 7;
  const next = (max: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % max;
  };
  for (let c = 0; c < 300; c++) {
    const m = sizes[next(sizes.length)] as number;
    const n = 1 + next(Math.min(60, m));
    const bs = Array.from({ length: n }, (_, i) => ({ id: 1 + next(1_000_000), name: `10.${c}.${i}.${next(256)}:${1 + next(65535)}` }))
      .filter((b, i, all) => all.findIndex((x) => x.name === b.name) === i);
    const ids = new Set<number>();
    const unique = bs.filter((b) => (ids.has(b.id) ? false : (ids.add(b.id), true)));
    const fast = maglevTable(unique, m);
    const slow = referenceTable(unique, m);
    if (!fast.every((v, i) => v === slow[i])) t.fail(`N=${unique.length} M=${m} case ${c}`);
  }
  t.pass();
});

test('permutations: offset in [0, M), skip in [1, M)', (t) => {
  for (const b of backends(500)) {
    const { offset, skip } = maglevPermutation(b.name, 1009);
    t.true(offset >= 0 && offset < 1009);
    t.true(skip >= 1 && skip < 1009);
  }
});

test('the table depends on the backend set, not on the order it is given in', (t) => {
  for (const n of [2, 3, 10, 100]) {
    const bs = backends(n);
    const m = maglevTableSize(n);
    const expected = maglevTable(bs, m);
    for (const seed of [1, 2, 3]) t.deepEqual(maglevTable(shuffled(bs, seed), m), expected, `N=${n} seed=${seed}`);
  }
});

test('ids only label the slots: the same names with other ids give the same layout', (t) => {
  const bs = backends(10);
  const relabelled = bs.map((b) => ({ ...b, id: b.id + 1000 }));
  const a = maglevTable(bs, 1009);
  const b = maglevTable(relabelled, 1009);
  t.deepEqual(Array.from(b, (id) => id - 1000), Array.from(a));
});

test('the hash is stable: a fixed backend set gives a fixed table (changing it reshuffles every node\'s flows)', (t) => {
  const bs = [
    { id: 1, name: '10.244.1.5:8080' },
    { id: 2, name: '10.244.2.7:8080' },
    { id: 3, name: '10.244.3.9:8080' },
  ];
  t.deepEqual(maglevPermutation('10.244.1.5:8080', 251), GOLDEN_PERMUTATION);
  t.deepEqual(Array.from(maglevTable(bs, 251).subarray(0, 32)), GOLDEN_PREFIX);
});

test('non-ASCII names hash as their UTF-8 bytes and stay distinct', (t) => {
  const bs = [{ id: 1, name: 'ns/ä:80' }, { id: 2, name: 'ns/a:80' }, { id: 3, name: 'ns/\u{1F600}:80' }];
  const table = maglevTable(bs, 307);
  t.deepEqual([...counts(table).keys()].sort(), [1, 2, 3]);
  t.notDeepEqual(maglevPermutation('ns/ä:80', 307), maglevPermutation('ns/a:80', 307));
});

test('out parameter: the table is written in place', (t) => {
  const out = new Uint32Array(1009);
  const r = maglevTable(backends(10), 1009, out);
  t.is(r, out);
  t.deepEqual(out, maglevTable(backends(10), 1009));
});

test('bad input is refused: no backends, duplicate names, ids that are not u32, sizes that are not prime', (t) => {
  t.throws(() => maglevTable([], 251), { instanceOf: RangeError, message: /at least one backend/ });
  t.throws(() => maglevTable([{ id: 1, name: 'a' }, { id: 2, name: 'a' }], 251), { message: /duplicate.*'a'/ });
  t.throws(() => maglevTable([{ id: -1, name: 'a' }], 251), { message: /not a u32/ });
  t.throws(() => maglevTable([{ id: 2 ** 32, name: 'a' }], 251), { message: /not a u32/ });
  t.throws(() => maglevTable([{ id: 1, name: 'a' }], 1000), { message: /prime/ });
  t.throws(() => maglevTable([{ id: 1, name: 'a' }], 251, new Uint32Array(250)), { message: /250 slots/ });
});

// ---- fairness ------------------------------------------------------------------

for (const n of SIZES) {
  test(`fairness: with N=${n} and M >= 100 N every backend's share is within 1% of fair`, (t) => {
    const m = maglevTableSize(n, LARGE_MAX);
    t.true(m >= 100 * n);
    const c = counts(maglevTable(backends(n), m));
    t.is(c.size, n, 'every backend has slots');
    const fair = m / n;
    for (const [id, k] of c) {
      t.true(Math.abs(k - fair) <= 0.01 * fair, `backend ${id}: ${k} slots, fair ${fair.toFixed(2)}`);
      // The round-robin fill gives every backend floor(M/N) or ceil(M/N) slots.
      t.true(k === Math.floor(fair) || k === Math.ceil(fair), `backend ${id}: ${k}`);
    }
  });
}

test('fairness when clamped: 1000 backends in the default 16381 slots get 16 or 17 each', (t) => {
  const m = maglevTableSize(1000);
  const c = counts(maglevTable(backends(1000), m));
  t.is(c.size, 1000);
  for (const k of c.values()) t.true(k === 16 || k === 17);
});

// ---- disruption ------------------------------------------------------------------

/** Which backends to remove: all of them for small N, a spread of 10 otherwise. */
function victims(n: number): number[] {
  if (n <= 10) return Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: 10 }, (_, i) => Math.floor((i * (n - 1)) / 9));
}

/** Several unrelated backend sets of size n (different subnets and ports). */
function backendSets(n: number, count: number): MaglevBackend[][] {
  return Array.from({ length: count }, (_, k) => backends(n, `10.${k + 1}`).map((b) => ({ ...b, name: b.name.replace(':8080', `:${8000 + k}`) })));
}

/**
 * Slots that change owner when one backend is removed, beyond the removed
 * backend's own share (1/N), over every victim of every set, as fractions of M.
 */
function extraDisruption(table: (bs: readonly MaglevBackend[], m: number) => Uint32Array, n: number, sets: number): number[] {
  const m = maglevTableSize(n, LARGE_MAX);
  const out: number[] = [];
  for (const bs of backendSets(n, sets)) {
    const before = table(bs, m);
    for (const v of victims(n)) {
      const removedId = (bs[v] as MaglevBackend).id;
      const after = table(bs.filter((_, i) => i !== v), m);
      if (after.includes(removedId)) throw new Error('the removed backend is still in the table');
      out.push(movedSlots(before, after) / m - 1 / n);
    }
  }
  return out.sort((a, b) => a - b);
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const SETS: Readonly<Record<number, number>> = { 2: 20, 3: 20, 10: 20, 100: 3, 1000: 1 };

for (const n of [2, 3, 10, 100, 1000]) {
  test(`disruption: removing one of N=${n} backends moves 1/N + at most 2% of the slots on average`, (t) => {
    const extra = extraDisruption(maglevTable, n, SETS[n] as number);
    t.log(`N=${n} M=${maglevTableSize(n, LARGE_MAX)}: beyond its own 1/N, mean ${pct(mean(extra))}, `
      + `p90 ${pct(extra[Math.floor(extra.length * 0.9)] as number)}, max ${pct(extra[extra.length - 1] as number)} `
      + `over ${extra.length} removals`);
    t.true(mean(extra) <= 0.02, `mean extra ${pct(mean(extra))}`);
  });
}

for (const n of [2, 100, 1000]) {
  test(`disruption: with N=${n} every single removal stays within 1/N + 2%`, (t) => {
    const extra = extraDisruption(maglevTable, n, SETS[n] as number);
    t.true((extra[extra.length - 1] as number) <= 0.02, `worst ${pct(extra[extra.length - 1] as number)}`);
  });
}

test('disruption: the depth-major fill moves fewer slots than the paper\'s round-robin fill', (t) => {
  // The reason maglevTable departs from the paper's fill order. Small N is
  // where the paper's fill exceeds the 1/N + 2% most often.
  for (const n of [3, 10, 100]) {
    const sets = n === 100 ? 2 : 10;
    const ours = mean(extraDisruption(maglevTable, n, sets));
    const paper = mean(extraDisruption(paperTable, n, sets));
    t.log(`N=${n}: mean extra ${pct(ours)} (depth-major) vs ${pct(paper)} (paper)`);
    t.true(ours < paper, `N=${n}`);
  }
});

for (const n of [1, 3, 10, 100]) {
  test(`disruption: adding one backend to N=${n} moves about 1/(N+1) of the slots`, (t) => {
    const m = maglevTableSize(n + 1, LARGE_MAX);
    const moves: number[] = [];
    for (const bs of backendSets(n + 1, n === 100 ? 2 : 10)) {
      const before = maglevTable(bs.slice(0, n), m);
      const after = maglevTable(bs, m);
      moves.push(movedSlots(before, after) / m - 1 / (n + 1));
    }
    t.true(mean(moves) <= 0.02, `mean extra ${pct(mean(moves))}`);
  });
}

test('disruption at the default maximum: removing one of 1000 backends (16 slots each) stays modest', (t) => {
  // Not a bound from the issue (M < 100 N here); recorded so a regression shows.
  const bs = backends(1000);
  const m = maglevTableSize(1000);
  const before = maglevTable(bs, m);
  const after = maglevTable(bs.slice(1), m);
  const moved = movedSlots(before, after) / m;
  t.log(`N=1000 M=${m}: ${pct(moved)} moved`);
  t.true(moved <= 0.05);
});

// Pinned by 'the hash is stable' above.
const GOLDEN_PERMUTATION = { offset: 10, skip: 175 };
const GOLDEN_PREFIX = [3, 3, 2, 1, 2, 2, 3, 3, 3, 3, 1, 3, 1, 2, 1, 2, 2, 2, 2, 1, 2, 2, 1, 1, 3, 1, 1, 1, 1, 2, 1, 2];
