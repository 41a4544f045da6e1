/** Stable ids (src/reconcile/ids.ts): adoption after a restart, no quick reuse, exhaustion. */
import test from 'ava';
import { IdAllocator, ReconcileIds } from '../../src/reconcile/ids.js';
import { DsrlbError } from '../../src/errors.js';

test('an identity keeps its id; new identities get the next free id', (t) => {
  const ids = new IdAllocator('backend id', 1, 100);
  t.is(ids.acquire('a'), 1);
  t.is(ids.acquire('b'), 2);
  t.is(ids.acquire('a'), 1);
  t.is(ids.keyOf(2), 'b');
});

test('adopted ids are kept, and new ids continue after the highest one seen', (t) => {
  const ids = new IdAllocator('service id', 1, 100);
  t.true(ids.adopt('x', 7));
  t.true(ids.adopt('y', 3));
  t.is(ids.acquire('z'), 8);
  t.is(ids.get('y'), 3);
});

test('adoption is refused for an id held by another identity, a second id for one identity, or an id out of range', (t) => {
  const ids = new IdAllocator('revnat id', 1, 10);
  t.true(ids.adopt('x', 5));
  t.true(ids.adopt('x', 5), 'the same binding again is fine');
  t.false(ids.adopt('y', 5));
  t.false(ids.adopt('x', 6));
  t.false(ids.adopt('z', 0));
  t.false(ids.adopt('z', 11));
});

test('a released id is not handed out again until the cursor comes round', (t) => {
  const ids = new IdAllocator('backend id', 1, 4);
  t.is(ids.acquire('a'), 1);
  ids.release('a');
  t.is(ids.acquire('b'), 2);
  t.is(ids.acquire('c'), 3);
  t.is(ids.acquire('d'), 4);
  t.is(ids.acquire('e'), 1, 'wraps to the released id only when nothing newer is free');
});

test('reserved ids (in a map, no identity yet) are skipped until unreserved or adopted', (t) => {
  const ids = new IdAllocator('service id', 1, 3);
  ids.reserve(1);
  t.is(ids.acquire('a'), 2);
  t.is(ids.acquire('b'), 3);
  t.true(ids.inUse(1));
  t.true(ids.adopt('c', 1), 'adopting a reserved id is allowed');
  t.false(ids.inUse(99));
});

test('running out of ids is an error that names the kind', (t) => {
  const ids = new IdAllocator('revnat id', 1, 2);
  ids.acquire('a');
  ids.acquire('b');
  const err = t.throws(() => ids.acquire('c'), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_IDS_EXHAUSTED');
  t.regex(err?.message ?? '', /no free revnat id/);
});

test('service ids index lb4_maglev (an array of maps): 1 to its last slot; an older agent\'s larger id is not adopted', (t) => {
  const ids = new ReconcileIds(16, 4);
  t.deepEqual(['a', 'b', 'c'].map((k) => ids.service.acquire(k)), [1, 2, 3]);
  t.throws(() => ids.service.acquire('d'), { code: 'ERR_IDS_EXHAUSTED' });
  t.false(new ReconcileIds(16, 65536).service.adopt('x', 70000), 'a hash of maps allowed ids past 65,535');
});
