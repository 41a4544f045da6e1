/** The moved marks of a current Maglev table (src/reconcile/moved-slots.ts): pure. */
import test from 'ava';
import { DSRLB_MAGLEV_F_MOVED } from '../../src/bpf/consts.generated.js';
import { maglevTable } from '../../src/reconcile/maglev.js';
import { markMoved, slotBackend } from '../../src/reconcile/moved-slots.js';
import { seededRandom } from '../helpers/rng.js';

const backends = (n: number, from = 1) => Array.from({ length: n }, (_, i) => ({ name: `10.0.0.${from + i}:80`, id: from + i }));

/** Every hash whose backend differs between the tables lands in a marked slot, and a marked slot has one such hash. */
function checkExact(t: import('ava').ExecutionContext, current: Uint32Array, previous: Uint32Array): void {
  const m = current.length;
  const p = previous.length;
  const span = Math.max(m, p);
  const reachesOther = new Set<number>();
  for (let h = 0; h < span; h++) {
    const prev = slotBackend(previous[h % p] as number);
    if (prev !== 0 && prev !== slotBackend(current[h % m] as number)) reachesOther.add(h % m);
  }
  for (let s = 0; s < m; s++) t.is(((current[s] as number) & DSRLB_MAGLEV_F_MOVED) !== 0, reachesOther.has(s), `slot ${s}`);
}

test('a change of the same size marks exactly the slots whose backend changed', (t) => {
  const before = maglevTable(backends(10), 1021);
  const after = maglevTable(backends(11), 1021);
  const changed = after.filter((id, s) => id !== before[s]).length;
  t.is(markMoved(after, before), changed);
  t.true(changed > 0 && changed < 1021 / 5, `${changed} of 1021: about 1/11`);
  checkExact(t, after, before);
});

test('growing (the previous size divides the new one) and shrinking (the other way) mark every slot a moved flow can hash to', (t) => {
  const small = maglevTable(backends(10), 1021);
  const big = maglevTable(backends(12), 2042);
  const grown = big.slice();
  markMoved(grown, small);
  checkExact(t, grown, small);
  const shrunk = maglevTable(backends(9), 1021);
  markMoved(shrunk, big);
  checkExact(t, shrunk, big);
});

test('marks read through: a previous table that was marked as a current one compares by backend id; no previous backend marks nothing', (t) => {
  const prev = Uint32Array.from([1, 2 | DSRLB_MAGLEV_F_MOVED, 0, 4]);
  const cur = Uint32Array.from([1 | DSRLB_MAGLEV_F_MOVED, 2, 3, 5]);
  t.is(markMoved(cur, prev), 1);
  t.deepEqual([...cur], [1, 2, 3, (5 | DSRLB_MAGLEV_F_MOVED) >>> 0]);
});

test('sizes that do not divide (hand-made tables) mark every slot; random tables keep the guarantee', (t) => {
  const cur = Uint32Array.from([1, 1, 1]);
  t.is(markMoved(cur, Uint32Array.from([1, 1])), 3);
  const rng = seededRandom(7);
  for (let round = 0; round < 20; round++) {
    const n = 1 + Math.floor(rng() * 30);
    const before = maglevTable(backends(n), 1021 * (round % 2 ? 2 : 1));
    const after = maglevTable(backends(1 + Math.floor(rng() * 30), 1 + Math.floor(rng() * 5)), 1021 * (round % 3 ? 1 : 2));
    markMoved(after, before);
    checkExact(t, after, before);
  }
});
