/**
 * The ordered apply against the in-memory maps, without root: after every
 * single map write of every sync, each live frontend reaches only live
 * backends through in-range table slots, has its revnat entry, and its port
 * is not filtered (src/reconcile/apply.ts). The same walk runs against the
 * kernel's maps in test/bpf/reconcile.test.ts.
 */
import test from 'ava';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { fe, input, orderSteps, orderUpdates, pods, twoServices } from '../fixtures/reconcile-plans.js';
import { makeBeforeBreakProblems, programmed } from '../helpers/lb-maps-view.js';

function watched(grace: number, maxOpenTables?: number) {
  const mem = new MemoryMaps(maxOpenTables === undefined ? {} : { maxOpenTables });
  const problems: string[] = [];
  let step = '';
  const log: string[] = [];
  const maps = new FailingMaps(mem, {
    after: (what) => {
      log.push(what);
      for (const p of makeBeforeBreakProblems(mem)) problems.push(`${step}, after ${what}: ${p}`);
    },
  });
  const r = new Reconciler(maps, { terminatingGraceMs: grace });
  return { mem, r, problems, log, at: (s: string) => { step = s; } };
}

for (const grace of [0, 60_000]) {
  test(`at every single map write, every live frontend resolves to live backends (grace ${grace} ms)`, (t) => {
    const w = watched(grace);
    for (const [name, frontends] of orderSteps()) {
      w.at(name);
      w.r.sync(input(frontends));
    }
    for (const [name, changes] of orderUpdates()) {
      w.at(name);
      w.r.updateServices(changes);
    }
    t.true(w.log.length > 20);
    t.deepEqual(w.problems, []);
    t.is(w.mem.maglev.openHandles, 0, 'no inner table handle left open');
  });
}

test('many services moving at once, ports shared and given up, stay resolvable at every write', (t) => {
  const w = watched(0);
  const many = (n: number, third: number, port: number) => Array.from({ length: n }, (_, i) => fe({
    service: `ns/s${i}`, servicePort: 'p', address: `10.96.1.${i + 1}`, port: port + (i % 3), backends: pods(1 + (i % 4), third + (i % 2)),
  }));
  const steps: [string, ReturnType<typeof many>][] = [
    ['twenty services', many(20, 2, 8000)],
    ['their backends replaced, ports moved', many(20, 4, 9000)],
    ['half of them gone', many(10, 2, 9000)],
    ['back with the first two services', [...twoServices(pods(3)), ...many(10, 6, 8000)]],
  ];
  for (const [name, frontends] of steps) {
    w.at(name);
    w.r.sync(input(frontends));
  }
  t.deepEqual(w.problems, []);
});

test('out of fds while creating tables: the waiting ones go in first, and nothing breaks', (t) => {
  // Two open handles at most: the third new table makes the first batch go in before it is created.
  const w = watched(0, 2);
  const many = Array.from({ length: 6 }, (_, i) => fe({ service: `ns/s${i}`, address: `10.96.2.${i + 1}`, backends: pods(2, 2 + i) }));
  w.at('six new tables');
  w.r.sync(input(many));
  t.deepEqual(w.problems, []);
  t.true(w.log.filter((x) => x === 'lb4_maglev.swap').length >= 3, 'tables went in in several batches');
  const ref = new MemoryMaps();
  t.is(new Reconciler(ref).sync(input(many)).tables.created, 6);
  t.deepEqual(programmed(w.mem), programmed(ref));
});
