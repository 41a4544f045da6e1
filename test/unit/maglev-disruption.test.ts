/**
 * The Maglev table scheme's contract (src/reconcile/maglev.ts, issue 14
 * "tables that do not reshuffle"): one backend added or removed — random,
 * first or last by name — moves at most MOVE_EXCESS of the flows of the
 * backends that stay beyond what the change forces (1/(N+1) when one is
 * added, nothing when one is removed), size changes included, for every
 * backend count N from 1 to 1000; every share is floor or ceil of M/N; and
 * the table is a function of the backend set alone: input order and the
 * history of syncs that led to it do not matter. The sweep is
 * test/helpers/maglev-sweep.ts; bench/maglev-disruption.ts prints its figures.
 */
import test from 'ava';
import { maglevTable, maglevTableSize } from '../../src/reconcile/maglev.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { fe, input, pods } from '../fixtures/reconcile-plans.js';
import { programmed } from '../helpers/lb-maps-view.js';
import {
  balance, moved, staying, sweep, SWEEP_MAX_N, table, UNIVERSE, type Outcome,
} from '../helpers/maglev-sweep.js';
import { seededRandom } from '../helpers/rng.js';

/** The bound docs/reconcile.md states: excess movement of the staying backends' flows. */
const MOVE_EXCESS = 0.04;
const LARGE_MAX = 1_000_003;
const DEFAULT_CAP = 16336;

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

interface Summary { worst: Map<string, Outcome>; balance: number; boundaries: number }

function summarise(ns: readonly number[], max?: number): Summary {
  const s: Summary = { worst: new Map(), balance: 0, boundaries: 0 };
  sweep(ns, max, (o) => {
    if ('table' in o) {
      s.balance = Math.max(s.balance, balance(o.table, o.n));
      return;
    }
    if (o.from !== o.to) s.boundaries++;
    const w = s.worst.get(o.change);
    if (!w || o.excess > w.excess) s.worst.set(o.change, o);
  });
  return s;
}

function check(t: import('ava').ExecutionContext, s: Summary): void {
  for (const w of s.worst.values()) {
    t.log(`${w.change}: worst excess ${pct(w.excess)} at N=${w.n} (M ${w.from} -> ${w.to})`);
    t.true(w.excess <= MOVE_EXCESS, `${w.change} at N=${w.n}: ${pct(w.excess)}`);
  }
  t.log(`worst balance (max share / fair) ${s.balance.toFixed(4)}; ${s.boundaries} changes crossed a size boundary`);
}

// Four tests of 250 backend counts each (ava's timeout is per test).
const CHUNK = 250;
for (let from = 1; from <= SWEEP_MAX_N; from += CHUNK) {
  const to = Math.min(SWEEP_MAX_N, from + CHUNK - 1);
  test(`every N from ${from} to ${to}, default cap: one backend added or removed moves at most ${pct(MOVE_EXCESS)} beyond what it must`, (t) => {
    const s = summarise(Array.from({ length: to - from + 1 }, (_, i) => from + i));
    check(t, s);
    // The sizes change at 10->11, 20->21, 40->41 and 81->82 (16336, the cap, from 82 on): three changes each way.
    t.is(s.boundaries, from === 1 ? 3 * 2 * 4 : 0);
    // Shares are floor or ceil of M/N (balance() checks it), so at most 1 + N/M.
    t.true(s.balance <= 1 + to / DEFAULT_CAP, `balance ${s.balance}`);
  });
}

test('M >= 100 N (large cap), past the default cap: every size boundary and every 25th N up to 1000', (t) => {
  // Below N = 164 the sizes are the default cap's, swept above.
  const ns = Array.from({ length: SWEEP_MAX_N }, (_, i) => i + 1).filter((n) => n >= 160 && (n % 25 === 0
    || maglevTableSize(n, LARGE_MAX) !== maglevTableSize(n + 1, LARGE_MAX) || maglevTableSize(n, LARGE_MAX) !== maglevTableSize(n - 1, LARGE_MAX)));
  const s = summarise(ns, LARGE_MAX);
  check(t, s);
  t.is(s.boundaries, 3 * 2 * 3, '163->164, 326->327 and 653->654, each way');
  t.true(s.balance <= 1.01, `balance ${s.balance}`);
});

test('a size change alone moves few flows: the same set in a table twice as large (raising --maglev-table-size)', (t) => {
  for (const n of [1, 10, 100, 163, 500, 1000]) {
    const set = UNIVERSE.slice(0, n);
    for (const m of [1021, 2042, 4084, 8168, 16336, 32672]) {
      const share = moved({ m, slots: maglevTable(set, m) }, { m: 2 * m, slots: maglevTable(set, 2 * m) }, staying(set));
      // Two copies of the smaller table, but for the slots the new quotas (floor or ceil of 2M/N) move.
      t.true(share <= Math.max(0.01, (0.5 * n) / m + 0.01), `N=${n} M=${m}: ${pct(share)}`);
    }
  }
});

test('the table is a function of the backend set: input order does not matter', (t) => {
  const rnd = seededRandom(3);
  for (const n of [2, 11, 100, 1000]) {
    const set = UNIVERSE.slice(0, n);
    const expected = table(set).slots;
    for (let k = 0; k < 3; k++) {
      const shuffled = set.map((b) => [rnd(), b] as const).sort((a, b) => a[0] - b[0]).map(([, b]) => b);
      t.deepEqual(table(shuffled).slots, expected, `N=${n}`);
    }
  }
});

test('the table is a function of the backend set: the syncs that led to it do not matter', (t) => {
  // One reconciler scales a service up across three size boundaries and back
  // down (tables rewritten in place, grown into new inner maps, shrunk); a
  // fresh one writes each step's set at once. Ids differ between them; the
  // backend of every slot does not.
  const web = (...groups: [number, number][]) => [fe({ address: '10.96.0.10', backends: groups.flatMap(([n, third]) => pods(n, third)) })];
  const history = [web([3, 2]), web([12, 2]), web([45, 2]), web([45, 3]), web([22, 2]), web([9, 2]), web([9, 2], [4, 3])];
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { terminatingGraceMs: 0 });
  const tables = (maps: MemoryMaps) => (programmed(maps) as { frontends: { table: string | null; maglevSize: number }[] })
    .frontends.map((f) => [f.maglevSize, f.table]);
  for (const step of history) {
    r.sync(input(step));
    const fresh = new MemoryMaps();
    new Reconciler(fresh, { terminatingGraceMs: 0 }).sync(input(step));
    t.deepEqual(tables(mem), tables(fresh));
  }
  t.deepEqual(history.map((s) => maglevTableSize(s[0]?.backends.length ?? 0)), [1021, 2042, 8168, 8168, 4084, 1021, 2042]);
});
