/**
 * The previous Maglev table (docs/datapath.md, "Stateless LB node"), without
 * root: a change of a service's backend set moves its table, as it was, to
 * lb4_maglev_prev (the same inner map, not a copy) with its size, and the new
 * table gets an inner map of its own; a terminating backend is in the
 * previous table only; the previous table stays until the next change and
 * goes with its service; a repair of an adopted table keeps none.
 */
import test from 'ava';
import { DSRLB_BE_F_TERMINATING, DSRLB_MAGLEV_F_MOVED, DSRLB_MAGLEV_ID_MASK, DSRLB_MAGLEV_SLOTS_PER_ENTRY } from '../../src/bpf/consts.generated.js';
import { maglevTableSize } from '../../src/reconcile/maglev.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { fe, input, pods } from '../fixtures/reconcile-plans.js';

const ADDRESS = '10.96.0.10';

function serviceId(mem: MemoryMaps): number {
  const [entry] = mem.services.entries();
  if (!entry) throw new Error('no service');
  return entry[1].serviceId;
}

/** The first `size` slots of a table's inner map. */
function table(slots: Uint32Array | undefined, size: number): number[] {
  if (!slots) throw new Error('no table');
  return [...slots.subarray(0, size)];
}

test('a change keeps the table before it as the previous one, until the next change', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { terminatingGraceMs: 60_000 });
  r.sync(input([fe({ address: ADDRESS, backends: pods(3) })]));
  const sid = serviceId(mem);
  t.is(mem.maglev.prevSlots(sid), undefined, 'a new service has no previous table');
  const size3 = maglevTableSize(3);
  const first = table(mem.maglev.slots(sid), size3);

  const res = r.sync(input([fe({ address: ADDRESS, backends: pods(4) })]));
  t.is(res.tables.previousKept, 1);
  const prev = mem.maglev.prevSlots(sid);
  t.is(prev?.size, size3);
  t.deepEqual(table(prev?.slots, size3), first, 'the previous table is the table before the change');
  const second = table(mem.maglev.slots(sid), maglevTableSize(4));
  t.notDeepEqual(second, first);

  // A sync that changes nothing keeps it; the next change replaces it.
  r.sync(input([fe({ address: ADDRESS, backends: pods(4) })]));
  t.deepEqual(table(mem.maglev.prevSlots(sid)?.slots, size3), first, 'unchanged by a sync without changes');
  r.sync(input([fe({ address: ADDRESS, backends: pods(5) })]));
  t.deepEqual(table(mem.maglev.prevSlots(sid)?.slots, maglevTableSize(4)), second, 'the next change replaces it');
  t.is(mem.maglev.tables, 2, 'two inner tables alive: current and previous, the first one freed');
  t.is(mem.maglev.openHandles, 0);
});

test('a terminating backend leaves the current table at once and stays in the previous one', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { terminatingGraceMs: 60_000 });
  const four = pods(4);
  r.sync(input([fe({ address: ADDRESS, backends: four })]));
  const sid = serviceId(mem);
  const gone = four[3];
  r.sync(input([fe({ address: ADDRESS, backends: four.slice(0, 3) })]));
  const goneId = mem.backends.scan().live.find(([, b]) => b.address === gone?.address)?.[0];
  t.truthy(goneId);
  t.true(((mem.backends.lookup(goneId as number)?.flags ?? 0) & DSRLB_BE_F_TERMINATING) !== 0, 'TERMINATING');
  t.false(table(mem.maglev.slots(sid), maglevTableSize(3)).includes(goneId as number), 'not in the current table');
  const prev = mem.maglev.prevSlots(sid);
  t.true(table(prev?.slots, prev?.size ?? 0).includes(goneId as number), 'in the previous table');
});

test('a service left without backends keeps its last table as the previous one; it goes with its service; no inner map leaks', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { terminatingGraceMs: 0 });
  r.sync(input([fe({ address: ADDRESS, backends: pods(3) })]));
  const sid = serviceId(mem);
  r.sync(input([fe({ address: ADDRESS, backends: pods(2) })]));
  const last = table(mem.maglev.slots(sid), maglevTableSize(2));
  r.sync(input([fe({ address: ADDRESS, backends: [] })]));
  t.is(mem.maglev.slots(sid), undefined, 'no current table');
  t.deepEqual(table(mem.maglev.prevSlots(sid)?.slots, maglevTableSize(2)), last);
  r.sync(input([]));
  t.is(mem.maglev.prevSlots(sid), undefined);
  t.deepEqual(mem.maglev.prevEntries(), []);
  t.is(mem.maglev.tables, 0);
});

test('a restarted reconciler adopts previous tables and drops those of services no longer there', (t) => {
  const mem = new MemoryMaps();
  const a = new Reconciler(mem, { terminatingGraceMs: 0 });
  a.sync(input([fe({ address: ADDRESS, backends: pods(3) }), fe({ service: 'default/b', address: '10.96.0.11', backends: pods(2, 3) })]));
  a.sync(input([fe({ address: ADDRESS, backends: pods(4) }), fe({ service: 'default/b', address: '10.96.0.11', backends: pods(3, 3) })]));
  t.is(mem.maglev.prevEntries().length, 2);
  const b = new Reconciler(mem, { terminatingGraceMs: 0 });
  b.sync(input([fe({ address: ADDRESS, backends: pods(4) })]));
  const left = mem.maglev.prevEntries();
  t.is(left.length, 1, 'the gone service lost its previous table');
  t.is(left[0]?.[1].size, maglevTableSize(3), 'the other kept its own, with its size');
  const sid = serviceId(mem);
  t.is(left[0]?.[0], sid);
  t.true((mem.maglev.prevSlots(sid)?.slots.length ?? 0) >= Math.ceil(maglevTableSize(3) / DSRLB_MAGLEV_SLOTS_PER_ENTRY));
});

test('a service given backends again after none marks its new table against the previous one it kept', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { terminatingGraceMs: 60_000 });
  r.sync(input([fe({ address: ADDRESS, backends: pods(3) })]));
  const sid = serviceId(mem);
  r.sync(input([fe({ address: ADDRESS, backends: [] })]));
  t.is(mem.maglev.slots(sid), undefined, 'no current table without backends');
  const kept = mem.maglev.prevSlots(sid);
  t.truthy(kept, 'the last table kept as the previous one');
  r.sync(input([fe({ address: ADDRESS, backends: pods(3).map((b) => ({ ...b, address: b.address.replace(/\.(\d+)$/, (_, n) => `.${Number(n) + 100}`) })) })]));
  const size = maglevTableSize(3);
  const now = table(mem.maglev.slots(sid), size);
  const before = table(kept?.slots, size).map((e) => e & DSRLB_MAGLEV_ID_MASK);
  t.deepEqual(now.map((e) => (e & DSRLB_MAGLEV_F_MOVED) !== 0), now.map((e, s) => (e & DSRLB_MAGLEV_ID_MASK) !== before[s]),
    'every slot whose flows the previous table sends elsewhere is marked');
  t.true(now.every((e) => (e & DSRLB_MAGLEV_F_MOVED) !== 0), 'all new backends: every slot moved');
});
