/**
 * Failure recovery without root: a sync that fails at any single write
 * position (or at random ones) leaves the maps resolvable, the next sync is
 * full (the maps are read back and every service compared), and it converges
 * to exactly what a clean run programs.
 */
import test from 'ava';
import { FullSync } from '../../src/model/full-sync.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Frontend } from '../../src/plan/types.js';
import { fe, input, pods, twoServices } from '../fixtures/reconcile-plans.js';
import { makeBeforeBreakProblems, programmed } from '../helpers/lb-maps-view.js';
import { seededRandom } from '../helpers/rng.js';

/** What a clean reconciler programs for `frontends`. */
function clean(frontends: Frontend[]): unknown {
  const mem = new MemoryMaps();
  new Reconciler(mem, { terminatingGraceMs: 0 }).sync(input(frontends));
  return programmed(mem);
}

const scenarios: [string, Frontend[], Frontend[]][] = [
  ['create from nothing', [], twoServices(pods(4))],
  ['grow past the table, replace dns', twoServices(pods(2)), twoServices(pods(12), pods(3, 5))],
  ['shrink, add a range, add a service', twoServices(pods(12)), [
    ...twoServices(pods(2)).map((f) => (f.kind === 'LoadBalancer' ? { ...f, sourceRanges: ['192.0.2.0/24', '198.51.100.0/25'] } : f)),
    fe({ service: 'ns/new', address: '10.96.0.99', port: 8443, backends: pods(3, 7) }),
  ]],
  ['remove everything', twoServices(pods(5)), []],
];

for (const [name, before, after] of scenarios) {
  test(`${name}: a failure at every write position is repaired by the next sync, which is full`, (t) => {
    const want = clean(after);
    // Count the writes of the sync under test.
    const counting = new FailingMaps(new MemoryMaps());
    const c = new Reconciler(counting, { terminatingGraceMs: 0 });
    c.sync(input(before));
    const setup = counting.calls;
    c.sync(input(after));
    const writes = counting.calls - setup;
    t.true(writes > 0);

    for (let n = 1; n <= writes; n++) {
      const mem = new MemoryMaps();
      const problems: string[] = [];
      const maps = new FailingMaps(mem, { failAt: setup + n, errno: 'ENOSPC', after: () => problems.push(...makeBeforeBreakProblems(mem)) });
      const fullSync = new FullSync();
      const r = new Reconciler(maps, { terminatingGraceMs: 0, fullSync });
      r.sync(input(before));
      fullSync.done();
      t.throws(() => r.sync(input(after)), { code: 'ERR_BPF_ENOSPC' }, `write ${n}`);
      t.deepEqual(problems, [], `write ${n}: resolvable up to the failure`);
      t.true(fullSync.needed && fullSync.rereadMaps, `write ${n}: the next sync is full`);
      t.deepEqual(makeBeforeBreakProblems(mem), [], `write ${n}: resolvable after the failure`);

      const again = r.sync(input(after));
      t.is(again.servicesChanged, new Set(after.map((f) => f.service)).size, `write ${n}: every service compared`);
      t.deepEqual(programmed(mem), want, `write ${n} (${maps.lastFailure}): converged to the plan`);
      fullSync.done();
      const quiet = r.sync(input(after));
      t.is(quiet.services.written + quiet.backends.written + quiet.tables.elementsWritten + quiet.services.deleted, 0, `write ${n}: then quiet`);
      t.is(mem.maglev.openHandles, 0);
    }
  });
}

test('random failures (seeded) through a series of changes: every sync that goes through leaves exactly its plan', (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = seededRandom(seed);
    const mem = new MemoryMaps();
    const maps = new FailingMaps(mem, { probability: 0.08, random, errno: 'EAGAIN' });
    const r = new Reconciler(maps, { terminatingGraceMs: 0 });
    let last: Frontend[] | null = null;
    for (let i = 0; i < 40; i++) {
      const plan = twoServices(pods(1 + Math.floor(random() * 14), 2 + Math.floor(random() * 3)), pods(Math.floor(random() * 4), 1));
      try {
        r.sync(input(plan));
        last = plan;
        t.deepEqual(programmed(mem), clean(plan), `seed ${seed}, change ${i}`);
      } catch (e) {
        t.is((e as { code?: string }).code, 'ERR_BPF_EAGAIN', `seed ${seed}, change ${i}: ${String(e)}`);
      }
      t.deepEqual(makeBeforeBreakProblems(mem), [], `seed ${seed}, change ${i}`);
    }
    t.truthy(last);
    t.true(maps.failures > 0, `seed ${seed} injected failures`);
  }
});

test('updateServices failing at any write: the next call reads the maps back, keeps every other service, and a failure of that one loses nothing either', (t) => {
  const before = twoServices(pods(3));
  const web = twoServices(pods(9)).slice(0, 2);
  const dns = twoServices(pods(3), pods(4, 6)).slice(2);
  const counting = new FailingMaps(new MemoryMaps());
  const c = new Reconciler(counting, { terminatingGraceMs: 0 });
  c.sync(input(before));
  const setup = counting.calls;
  c.updateServices(new Map([['default/web', web]]));
  const writes = counting.calls - setup;
  for (let n = 1; n <= writes; n++) {
    const mem = new MemoryMaps();
    // Fails at write n of the web update, and again at the first write of the call after it.
    const maps = new FailingMaps(mem, { failAt: setup + n });
    const r = new Reconciler(maps, { terminatingGraceMs: 0 });
    r.sync(input(before));
    t.throws(() => r.updateServices(new Map([['default/web', web]])), { code: 'ERR_BPF_EIO' });
    maps.failAt = maps.calls + 1;
    t.throws(() => r.updateServices(new Map([['kube-system/dns', dns]])), { code: 'ERR_BPF_EIO' }, `write ${n}: the repair fails too`);
    r.updateServices(new Map([['kube-system/dns', dns]]));
    t.deepEqual(programmed(mem), clean([...before.slice(0, 2), ...dns]), `write ${n}: web as it was, dns new`);
  }
});
