/**
 * Id reuse with generations, without root: lb4_backends has few slots here,
 * so ids come round again. A slot keeps its generation when its backend is
 * freed, the next backend in it gets a newer one (flows and affinity entries
 * naming the old backend go stale instead of following the id), a TERMINATING
 * backend's id is never handed out, and lb4_frontends slots do the same for
 * revnat ids.
 */
import test from 'ava';
import { DSRLB_BE_F_TERMINATING } from '../../src/bpf/consts.generated.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { fe, input, pods } from '../fixtures/reconcile-plans.js';

test('backend ids come round with newer generations, and never while the old backend terminates', (t) => {
  let now = 0;
  const mem = new MemoryMaps({ maxBackends: 12 }); // ids 1..11: three live, up to six terminating
  const r = new Reconciler(mem, { terminatingGraceMs: 1000, now: () => now });
  /** Slot -> every {backend, generation} it held, in order. */
  const history = new Map<number, string[]>();
  const generations = new Map<number, number>();
  for (let round = 0; round < 12; round++) {
    const backends = pods(3, 10 + round);
    r.sync(input([fe({ address: '10.96.0.10', backends })]));
    const live = mem.backends.scan().live;
    const active = live.filter(([, b]) => !(b.flags & DSRLB_BE_F_TERMINATING));
    t.is(active.length, 3, `round ${round}`);
    for (const [id, b] of live) {
      const name = `${b.address}@${b.generation}`;
      const h = history.get(id) ?? [];
      if (h.at(-1) !== name) h.push(name);
      history.set(id, h);
      const last = generations.get(id) ?? 0;
      t.true(b.generation >= last, `slot ${id}: generations only grow`);
      generations.set(id, b.generation);
    }
    // The terminating ones hold their ids: the three new backends took other slots.
    const terminating = live.filter(([, b]) => b.flags & DSRLB_BE_F_TERMINATING).map(([id]) => id);
    for (const [id] of active) t.false(terminating.includes(id), `round ${round}: id ${id} in use twice`);
    now += 600; // every other round, a grace ends
    r.sweep();
  }
  const reused = [...history.values()].filter((h) => h.length > 1);
  t.true(reused.length > 0, 'ids came round');
  for (const h of reused) {
    const gens = h.map((x) => Number(x.split('@')[1]));
    t.deepEqual(gens, [...gens].sort((a, b) => a - b), `generations grow along ${h.join(' -> ')}`);
    t.is(new Set(gens).size, gens.length, 'each backend in a slot has its own generation');
  }
  // A freed slot keeps its generation.
  const freed = mem.backends.written().filter(([, b]) => b.flags === 0 && b.generation > 0);
  t.true(freed.length > 0);
});

test('a restarted reconciler continues generations after the newest any slot holds or held', (t) => {
  const mem = new MemoryMaps({ maxBackends: 8 });
  const r = new Reconciler(mem, { terminatingGraceMs: 0 });
  r.sync(input([fe({ address: '10.96.0.10', backends: pods(4) })]));
  r.sync(input([fe({ address: '10.96.0.10', backends: pods(1) })]));
  const newest = Math.max(...mem.backends.written().map(([, b]) => b.generation));
  const again = new Reconciler(mem, { terminatingGraceMs: 0 });
  again.sync(input([fe({ address: '10.96.0.10', backends: [...pods(1), ...pods(2, 9)] })]));
  const fresh = mem.backends.scan().live.filter(([, b]) => b.address.startsWith('198.18.9.'));
  t.is(fresh.length, 2);
  for (const [, b] of fresh) t.true(b.generation > newest);
});

test('revnat ids: a frontend taking a freed lb4_frontends slot gets a newer generation', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem);
  const a = fe({ service: 'ns/a', address: '10.96.0.1', backends: pods(1) });
  const b = fe({ service: 'ns/b', address: '10.96.0.2', backends: pods(1) });
  r.sync(input([a]));
  const [slotA, first] = mem.frontends.scan().live[0] as [number, { generation: number }];
  r.sync(input([b]));
  const live = mem.frontends.scan().live;
  t.is(live.length, 1);
  const [slotB, second] = live[0] as [number, { generation: number; serviceId: number }];
  t.not(slotB, slotA, 'a released revnat id is not handed out again at once');
  t.true(second.generation > first.generation);
  t.like(mem.frontends.lookup(slotA), { serviceId: 0, generation: first.generation }, 'the freed slot keeps its generation');
});
