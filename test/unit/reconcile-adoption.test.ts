/**
 * Adoption without root: whatever the maps hold when the reconciler opens
 * them (an earlier run's state, part of one, or garbage), the first sync
 * converges to exactly what a clean run programs, keeps the ids still in use,
 * and the next sync writes nothing. The periodic resync repairs entries
 * changed or deleted by hand the same way.
 */
import test from 'ava';
import { DSRLB_BE_F_LIVE, DSRLB_BE_F_TERMINATING, DSRLB_SOURCE_RANGE_PREFIX_BASE } from '../../src/bpf/consts.generated.js';
import type { Lb4Backend, Lb4Service } from '../../src/bpf/codecs/services.js';
import { TableBuffer } from '../../src/reconcile/table-buffer.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { changesByMap } from '../../src/reconcile/result.js';
import type { Frontend } from '../../src/plan/types.js';
import { fe, input, pods, twoServices } from '../fixtures/reconcile-plans.js';
import { makeBeforeBreakProblems, programmed } from '../helpers/lb-maps-view.js';
import { seededRandom } from '../helpers/rng.js';

function clean(frontends: Frontend[]): unknown {
  const mem = new MemoryMaps();
  new Reconciler(mem, { terminatingGraceMs: 0 }).sync(input(frontends));
  return programmed(mem);
}

function quiet(t: import('ava').ExecutionContext, r: Reconciler, frontends: Frontend[], what: string): void {
  const again = r.sync(input(frontends));
  t.deepEqual(Object.values(changesByMap(again)).filter((n) => n > 0), [], `${what}: the next sync writes nothing`);
}

/** Random map contents: entries of every map, plausible or not, pointing at each other or at nothing. */
function garbage(mem: MemoryMaps, random: () => number): void {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const n = (max: number): number => Math.floor(random() * max);
  const addresses = ['10.96.0.10', '10.96.0.53', '203.0.113.10', '10.96.7.7', '198.18.2.10', '198.18.2.11', '198.18.1.10', '198.18.9.9'];
  const sids = [1, 2, 3, 7, 99, 4096];
  for (let i = n(8); i > 0; i--) {
    mem.services.update({ address: pick(addresses), port: pick([80, 53, 8080, 443]), proto: pick([6, 17, 132]) }, {
      serviceId: pick(sids), affinityTimeout: pick([0, 300]), backendCount: n(20), revnatId: 1 + n(12), flags: n(16), kind: n(4), internalRevnat: n(12), maglevSize: pick([0, 251, 503, 1009, 7]),
    });
  }
  for (let i = n(8); i > 0; i--) mem.revnat.update(1 + n(12), { address: pick(addresses), port: pick([80, 53]) });
  for (let i = n(12); i > 0; i--) {
    mem.backends.update(1 + n(20), {
      address: pick(addresses), port: pick([8080, 53]), proto: pick([6, 17]), flags: pick([DSRLB_BE_F_LIVE, DSRLB_BE_F_LIVE | DSRLB_BE_F_TERMINATING, 0]),
      nodeId: n(4), generation: n(9),
    });
  }
  for (let i = n(5); i > 0; i--) {
    const elements = 1 + n(40);
    mem.maglev.put(pick(sids), elements, Array.from({ length: elements * 16 }, () => n(22)));
  }
  for (let i = n(4); i > 0; i--) mem.sourceRanges.update({ prefixlen: DSRLB_SOURCE_RANGE_PREFIX_BASE + 8 + n(24), serviceId: pick(sids), address: '192.0.2.0' }, 1);
  for (let i = n(3); i > 0; i--) mem.nodes.update(n(9), { address: `198.51.100.${n(9)}` });
  for (let i = n(3); i > 0; i--) mem.nodeAddrs.update(`198.51.100.${n(9)}`, n(9));
  for (let i = n(6); i > 0; i--) mem.portFilter.update(n(2048), BigInt(n(2 ** 30)) * 0x1_0000_0001n);
  for (let i = n(6); i > 0; i--) mem.frontends.update(n(14), { serviceId: pick([0, ...sids]), generation: n(9), flags: n(16) });
}

const plans: [string, Frontend[]][] = [
  ['two services', twoServices(pods(4))],
  ['ranges and a second port', [...twoServices(pods(12)).map((f) => (f.kind === 'LoadBalancer' ? { ...f, sourceRanges: ['192.0.2.0/24'] } : f)),
    fe({ service: 'default/web', servicePort: 'https', address: '10.96.0.10', port: 443, backends: pods(2, 3) })]],
  ['nothing', []],
];

for (const [name, plan] of plans) {
  test(`random prior contents (garbage included) converge to exactly the plan: ${name}`, (t) => {
    const want = clean(plan);
    for (let seed = 1; seed <= 40; seed++) {
      const mem = new MemoryMaps({ maxBackends: 64 });
      garbage(mem, seededRandom(seed));
      const r = new Reconciler(mem, { terminatingGraceMs: 0 });
      r.sync(input(plan));
      t.deepEqual(programmed(mem), want, `seed ${seed}`);
      quiet(t, r, plan, `seed ${seed}`);
      t.is(mem.maglev.tables, new Set(mem.maglev.keys()).size, `seed ${seed}: no inner table leaks`);
    }
  });
}

test('an earlier run\'s state, or any part of one, is adopted without breaking a live frontend, keeping its ids', (t) => {
  const earlier = twoServices(pods(6));
  const next = twoServices([...pods(5), ...pods(2, 7)]);
  const want = clean(next);
  // Every prefix of the earlier run's writes: an agent killed part way through.
  const counting = new FailingMaps(new MemoryMaps());
  new Reconciler(counting).sync(input(earlier));
  for (let n = 1; n <= counting.calls + 1; n++) {
    const mem = new MemoryMaps();
    try {
      new Reconciler(new FailingMaps(mem, { failAt: n })).sync(input(earlier));
    } catch {
      // killed part way
    }
    const webId = mem.services.lookup({ address: '10.96.0.10', port: 80, proto: 6 })?.serviceId;
    const problems: string[] = [];
    const r = new Reconciler(new FailingMaps(mem, { after: (w) => problems.push(...makeBeforeBreakProblems(mem).map((p) => `${w}: ${p}`)) }),
      { terminatingGraceMs: 0 });
    r.sync(input(next));
    t.deepEqual(problems, [], `after ${n - 1} writes`);
    t.deepEqual(programmed(mem), want, `after ${n - 1} writes`);
    if (webId !== undefined) t.is(mem.services.lookup({ address: '10.96.0.10', port: 80, proto: 6 })?.serviceId, webId, 'the service id stays');
  }
});

test('resync repairs entries changed or deleted by hand, counts them by map, and finds nothing the next time', (t) => {
  const plan = twoServices(pods(5));
  const mem = new MemoryMaps();
  const r = new Reconciler(mem);
  t.is(r.resync(), null, 'nothing to compare before the first sync');
  r.sync(input(plan));
  const want = programmed(mem);

  const web = { address: '10.96.0.10', port: 80, proto: 6 };
  const dns = { address: '10.96.0.53', port: 53, proto: 17 };
  const sid = (mem.services.lookup(web) as { serviceId: number }).serviceId;
  mem.services.update(web, { ...(mem.services.lookup(web) as Lb4Service), backendCount: 1 });
  mem.services.delete(dns);
  const [firstBackend] = mem.backends.scan().live;
  mem.backends.update(firstBackend?.[0] as number, { ...(firstBackend?.[1] as Lb4Backend), port: 9999 });
  const slots = mem.maglev.slots(sid) as Uint32Array;
  mem.maglev.poke(sid, 3, (slots[3] as number) === 1 ? 2 : 1);
  mem.revnat.update(4000, { address: '192.0.2.1', port: 1 });

  const res = r.resync();
  t.truthy(res);
  t.deepEqual(programmed(mem), want);
  const repaired = changesByMap(res as NonNullable<typeof res>);
  t.is(repaired.lb4_services, 2, 'one entry rewritten, one written again');
  t.is(repaired.lb4_backends, 1);
  // Web's table: the element changed by hand. Dns's: nothing names its size any more, so all of it (1021 slots, 64 elements).
  t.like(res?.tables, { updated: 2, created: 0, replaced: 0, elementsWritten: 1 + 64 });
  t.is(repaired.lb4_revnat, 1, 'the stray revnat entry removed');
  t.deepEqual(Object.values(changesByMap(r.resync() as NonNullable<typeof res>)).filter((n) => n > 0), []);
});

test('a table swapped by hand for one of another size is replaced', (t) => {
  const plan = twoServices(pods(3));
  const mem = new MemoryMaps();
  const r = new Reconciler(mem);
  r.sync(input(plan));
  const want = programmed(mem);
  const sid = (mem.services.lookup({ address: '10.96.0.10', port: 80, proto: 6 }) as { serviceId: number }).serviceId;
  const table = new TableBuffer(2042);
  mem.maglev.put(sid, table.elements, table.slots);
  r.resync();
  t.deepEqual(programmed(mem), want);
});
