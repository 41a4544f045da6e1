/**
 * The reconciler against real pinned maps (xdp_lb.o's, each test under its
 * own bpffs root): what a plan becomes, what a change rewrites (and what it
 * does not), restarts, stale entries, terminating backends, the ordering that
 * keeps every live frontend resolvable, and the real program reading it all.
 */
import test, { type ExecutionContext } from 'ava';
import {
  BpfMap, BpfObjectFile, BpfObjects, DSRLB_BE_F_LIVE, DSRLB_BE_F_TERMINATING, DSRLB_GENEVE_OPT_CLASS, DSRLB_GENEVE_PORT, DSRLB_REPLY_BURST_DEFAULT, DSRLB_REPLY_RATE_DEFAULT,
  DSRLB_MAGLEV_F_MOVED, DSRLB_SNAT_PORT_MAX, DSRLB_SNAT_PORT_MIN, DSRLB_SVC_F_AFFINITY, DSRLB_SVC_F_SOURCE_RANGES, dsrlb_mode, native,
} from '../../src/bpf/index.js';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { isLiveRevnat, type Lb4Backend, type Lb4Service } from '../../src/bpf/codecs/services.js';
import { maglevInnerSpec, maglevSlots, MapSpecs, openPinned, pinnedNoneTableId, withPinned } from '../../src/bpf/map-specs.js';
import { maglevTable, nodeIdForAddress, Reconciler, type ReconcilerOptions } from '../../src/reconcile/index.js';
import { slotBackend } from '../../src/reconcile/moved-slots.js';
import { buildFrame, decodeFrame } from '../../src/packet/index.js';
import type { Backend, Frontend } from '../../src/plan/index.js';
import { be, fe, input, LOCAL, NODES, orderSteps, orderUpdates, pods, twoServices, VIP } from '../fixtures/reconcile-plans.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const TCP = 6;

interface Env {
  root: string;
  obj: BpfObjectFile;
  open(opts?: Partial<ReconcilerOptions>): Reconciler;
  /** What an earlier agent left: twoServices() programmed by a reconciler that is closed since. */
  earlierRun(): ReturnType<typeof readAll>;
}

function setup(t: ExecutionContext): Env {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  return {
    root,
    obj,
    open(opts = {}) {
      const r = Reconciler.open({ bpffsRoot: root, ...opts });
      t.teardown(() => r.close());
      return r;
    },
    earlierRun() {
      const r = this.open();
      r.sync(input(twoServices()));
      r.close();
      return readAll(root);
    },
  };
}

/** Every map the reconciler writes, read back through separate fds. */
function readAll(root: string) {
  const open = <K, V>(s: Parameters<typeof openPinned<K, V>>[1]) => openPinned(root, s);
  const maps = {
    services: open(MapSpecs.services), backends: open(MapSpecs.backends), revnat: open(MapSpecs.revnat),
    maglev: open(MapSpecs.maglev), sourceRanges: open(MapSpecs.sourceRanges), nodes: open(MapSpecs.nodes),
    nodeAddrs: open(MapSpecs.nodeAddrs), frontends: open(MapSpecs.frontends),
    maglevPrev: open(MapSpecs.maglevPrev), maglevPrevSize: open(MapSpecs.maglevPrevSize),
  };
  try {
    const tables = new Map<number, { innerId: number; slots: number[] }>();
    const noneId = pinnedNoneTableId(root);
    for (const [sid, innerId] of maglevSlots(maps.maglev, noneId)) tables.set(sid, { innerId, slots: readInner(innerId) });
    return {
      services: new Map(maps.services.entries().map(([k, v]) => [`${k.address}:${k.port}/${k.proto}`, v])),
      backends: new Map(liveBackends(maps.backends)),
      revnat: new Map(maps.revnat.entries().filter(([, r]) => isLiveRevnat(r))),
      tables,
      /** lb4_maglev_prev: the inner map id and size of each service's previous table. */
      prevTables: new Map(maglevSlots(maps.maglevPrev, noneId).map(([sid, innerId]) => [sid, { innerId, size: maps.maglevPrevSize.lookup(sid) }])),
      sourceRanges: maps.sourceRanges.entries().map(([k]) => k),
      nodes: new Map(maps.nodes.entries().map(([id, n]) => [id, n.address])),
      nodeAddrs: new Map(maps.nodeAddrs.entries()),
      /** Live lb4_frontends slots, and every slot's generation. */
      frontends: new Map(maps.frontends.entries().filter(([, f]) => f.serviceId !== 0)),
      frontendGenerations: new Map(maps.frontends.entries().map(([id, f]) => [id, f.generation])),
    };
  } finally {
    for (const m of Object.values(maps)) m.close();
  }
}

/** A table's slots as the kernel holds them, moved marks included (`slotBackend` drops them). */
function readInnerRaw(innerId: number): number[] {
  const inner = new BpfMap(native().mapFdById(innerId), maglevInnerSpec.key, maglevInnerSpec.value, true, 'inner');
  try {
    return inner.entries().sort((a, b) => a[0] - b[0]).flatMap(([, ids]) => [...ids]);
  } finally {
    inner.close();
  }
}

/** A table's backend ids, as the datapath reads them. */
function readInner(innerId: number): number[] {
  return readInnerRaw(innerId).map(slotBackend);
}

function svcOf(state: ReturnType<typeof readAll>, key: string): Lb4Service {
  const s = state.services.get(key);
  if (!s) throw new Error(`no service ${key}`);
  return s;
}

function backendIdsOf(state: ReturnType<typeof readAll>, addresses: readonly string[], port = 8080, proto = TCP): number[] {
  return addresses.map((a) => {
    const hit = [...state.backends].find(([, b]) => b.address === a && b.port === port && b.proto === proto);
    if (!hit) throw new Error(`no backend ${a}:${port}`);
    return hit[0];
  });
}

test('a plan is programmed into every map: frontends, revnat, backends, one table per backend set, ranges, nodes', (t) => {
  const env = setup(t);
  const r = env.open();
  const res = r.sync(input(twoServices()));
  const s = readAll(env.root);

  t.is(s.services.size, 3);
  const web = svcOf(s, '10.96.0.10:80/6');
  const lb = svcOf(s, `${VIP}:80/6`);
  const dns = svcOf(s, '10.96.0.53:53/17');
  t.is(web.serviceId, lb.serviceId, 'ClusterIP and LoadBalancer of one port share a service id');
  t.not(web.serviceId, dns.serviceId);
  t.like(web, { backendCount: 3, maglevSize: 1021, flags: DSRLB_SVC_F_AFFINITY, affinityTimeout: 300 });
  t.like(lb, { backendCount: 3, maglevSize: 1021, flags: DSRLB_SVC_F_AFFINITY | DSRLB_SVC_F_SOURCE_RANGES });
  t.like(dns, { backendCount: 2, maglevSize: 1021, flags: 0 });
  t.not(web.revnatId, lb.revnatId, 'revnat ids are per frontend');
  t.deepEqual(s.revnat.get(lb.revnatId), { address: VIP, port: 80 });
  t.deepEqual(s.revnat.get(dns.revnatId), { address: '10.96.0.53', port: 53 });

  const webIds = backendIdsOf(s, ['198.18.2.10', '198.18.2.11', '198.18.2.12']);
  t.like(s.backends.get(webIds[0] as number), { address: '198.18.2.10', port: 8080, proto: TCP, flags: DSRLB_BE_F_LIVE, nodeId: nodeIdForAddress('198.51.100.2') });
  const dnsIds = backendIdsOf(s, ['198.18.1.10', '198.18.1.11'], 53, 17);
  t.is(s.backends.get(dnsIds[0] as number)?.nodeId, nodeIdForAddress(LOCAL.address));

  t.is(s.tables.size, 2);
  const expected = maglevTable(['198.18.2.10', '198.18.2.11', '198.18.2.12'].map((a, i) => ({ name: `${a}:8080`, id: webIds[i] as number })), 1021);
  t.deepEqual(s.tables.get(web.serviceId)?.slots.slice(0, 1021), Array.from(expected));
  t.deepEqual(s.sourceRanges, [{ prefixlen: 32 + 24, serviceId: lb.serviceId, address: '192.0.2.0' }]);
  t.deepEqual([...s.nodes.values()].sort(), ['198.51.100.1', '198.51.100.2', '198.51.100.3']);
  t.is(s.nodeAddrs.get('198.51.100.2'), nodeIdForAddress('198.51.100.2'));
  t.like(res.tables, { created: 2, replaced: 0, updated: 0, deleted: 0 });
});

test('syncing the same plan again writes nothing', (t) => {
  const env = setup(t);
  const r = env.open();
  r.sync(input(twoServices()));
  const again = r.sync(input(twoServices()));
  t.like(again, {
    servicesChanged: 0,
    services: { written: 0, deleted: 0 }, revnat: { written: 0, deleted: 0 }, backends: { written: 0, deleted: 0, terminated: 0 },
    sourceRanges: { written: 0, deleted: 0 }, nodes: { written: 0, deleted: 0 },
    tables: { created: 0, replaced: 0, updated: 0, deleted: 0, unchanged: 0, elementsWritten: 0 },
  });
});

test('one backend replaced: only that service\'s table changes; the old one, as it was, becomes its previous table', (t) => {
  const env = setup(t);
  const r = env.open();
  const ten = pods(10);
  r.sync(input(twoServices(ten)));
  const before = readAll(env.root);
  const webSid = svcOf(before, '10.96.0.10:80/6').serviceId;
  const dnsSid = svcOf(before, '10.96.0.53:53/17').serviceId;

  const swapped = [...ten.slice(0, 9), be('198.18.2.99')];
  const res = r.sync(input(twoServices(swapped)));
  const after = readAll(env.root);

  t.is(res.servicesChanged, 1, 'the other service is not even compared');
  t.like(res.tables, { created: 0, replaced: 1, updated: 0, unchanged: 0, previousKept: 1 });
  t.not(after.tables.get(webSid)?.innerId, before.tables.get(webSid)?.innerId, 'a new inner map for the new table');
  t.deepEqual(after.prevTables.get(webSid), { innerId: before.tables.get(webSid)?.innerId, size: 1021 }, 'the old one moved, not copied');
  t.deepEqual(readInner(after.prevTables.get(webSid)?.innerId ?? 0), before.tables.get(webSid)?.slots);
  t.deepEqual(after.tables.get(dnsSid), before.tables.get(dnsSid));
  t.false(after.prevTables.has(dnsSid), 'an unchanged service has no previous table');
  const moved = (before.tables.get(webSid)?.slots ?? []).filter((id, i) => id !== after.tables.get(webSid)?.slots[i]).length;
  // One out, one in: the leaver's slots and the newcomer's, about 2/N, plus a little.
  t.true(moved <= 1021 * (2 / 10 + 0.04), `${moved} slots moved`);
  t.is(res.services.written, 0, 'same service ids, sizes and counts: frontends untouched');
  t.is(res.backends.written, 1);
  t.is(res.backends.terminated, 1);
});

test('updateServices rewrites one service and leaves every other entry alone; an empty list removes a service', (t) => {
  const env = setup(t);
  let now = 0;
  const r = env.open({ now: () => now, terminatingGraceMs: 1000 });
  const t0 = t.throws(() => r.updateServices(new Map()), { message: /before the first full sync/ });
  t.is((t0 as unknown as { code: string }).code, 'ERR_RECONCILE_NOT_SYNCED');
  r.sync(input(twoServices()));
  const before = readAll(env.root);

  const web = twoServices([...pods(3), be('198.18.2.40')]).slice(0, 2);
  const res = r.updateServices(new Map([['default/web', web]]));
  t.is(res.servicesChanged, 1);
  const after = readAll(env.root);
  t.is(svcOf(after, '10.96.0.10:80/6').backendCount, 4);
  t.deepEqual(svcOf(after, '10.96.0.53:53/17'), svcOf(before, '10.96.0.53:53/17'));
  t.deepEqual(after.tables.get(svcOf(after, '10.96.0.53:53/17').serviceId), before.tables.get(svcOf(before, '10.96.0.53:53/17').serviceId));

  t.is(r.updateServices(new Map([['default/web', web]])).servicesChanged, 0, 'the same frontends again change nothing');
  r.updateServices(new Map([['kube-system/dns', []]]));
  now += 1000;
  r.sweep();
  const gone = readAll(env.root);
  t.false(gone.services.has('10.96.0.53:53/17'));
  t.is(gone.tables.size, 1);
  t.deepEqual(backendIdsOf(gone, ['198.18.2.10', '198.18.2.40']).length, 2);
  t.false([...gone.backends.values()].some((b) => b.port === 53), 'the removed service\'s backends are gone after the grace');

  // A full sync afterwards agrees with what the updates built.
  const full = r.sync(input(web));
  t.is(full.servicesChanged, 0);
});

test('sync recognises a plan cache\'s unchanged services by their Frontend objects and compares only the rest', (t) => {
  const env = setup(t);
  const r = env.open();
  const frontends = twoServices();
  r.sync(input(frontends));
  t.is(r.sync(input(frontends)).servicesChanged, 0);
  // A new plan object that reuses web's Frontends and re-plans dns (same content): nothing to write.
  const replanned = [...frontends.slice(0, 2), { ...(frontends[2] as Frontend) }];
  const res = r.sync(input(replanned));
  t.is(res.servicesChanged, 0);
  t.is(res.services.written + res.backends.written + res.tables.elementsWritten, 0);
  // dns re-planned with one more backend: only dns is written.
  const grown = [...frontends.slice(0, 2), fe({ ...(frontends[2] as Frontend), backends: [...(frontends[2] as Frontend).backends, be('198.18.1.40', 'node-a', 53)] })];
  const res2 = r.sync(input(grown));
  t.is(res2.servicesChanged, 1);
  t.is(res2.services.written, 1);
});

test('a node that changes address moves its backends to the new node id and the old node goes', (t) => {
  const env = setup(t);
  const r = env.open();
  r.sync(input(twoServices()));
  const moved = new Map([...NODES, ['node-b', '198.51.100.22']]);
  const res = r.sync(input(twoServices(), moved));
  t.is(res.servicesChanged, 1, 'only web has backends on node-b');
  const s = readAll(env.root);
  const [id] = backendIdsOf(s, ['198.18.2.10']);
  t.is(s.backends.get(id as number)?.nodeId, nodeIdForAddress('198.51.100.22'));
  t.false(s.nodes.has(nodeIdForAddress('198.51.100.2')));
  t.is(s.nodeAddrs.get('198.51.100.22'), nodeIdForAddress('198.51.100.22'));
  t.false(s.nodeAddrs.has('198.51.100.2'));
});

test('a restarted reconciler adopts the pinned state and converges without writing anything', (t) => {
  const env = setup(t);
  const before = env.earlierRun();

  const second = env.open();
  const res = second.sync(input(twoServices()));
  t.like(res, {
    services: { written: 0, deleted: 0 }, revnat: { written: 0, deleted: 0 }, backends: { written: 0, deleted: 0, terminated: 0 },
    sourceRanges: { written: 0, deleted: 0 }, nodes: { written: 0, deleted: 0 },
    tables: { created: 0, replaced: 0, updated: 0, deleted: 0, unchanged: 2, elementsWritten: 0 },
  });
  t.deepEqual(readAll(env.root), before);
});

test('a restart with a changed plan keeps every id that is still in use', (t) => {
  const env = setup(t);
  const before = env.earlierRun();

  const second = env.open();
  const changed = twoServices([...pods(3), be('198.18.2.50')]);
  second.sync(input(changed));
  const after = readAll(env.root);
  for (const k of before.services.keys()) {
    t.is(svcOf(after, k).serviceId, svcOf(before, k).serviceId, k);
    t.is(svcOf(after, k).revnatId, svcOf(before, k).revnatId, k);
  }
  const ids = ['198.18.2.10', '198.18.2.11', '198.18.2.12'];
  t.deepEqual(backendIdsOf(after, ids), backendIdsOf(before, ids));
  t.is(svcOf(after, '10.96.0.10:80/6').backendCount, 4);
});

/** Every lb4_services entry has its lb4_frontends slot (service id, flags), and no other slot is live. */
function frontendsMirrorServices(t: ExecutionContext, s: ReturnType<typeof readAll>): void {
  const byId = (a: [number, unknown], b: [number, unknown]): number => a[0] - b[0];
  const want = [...s.services.values()].map((v): [number, unknown] => [v.revnatId, { serviceId: v.serviceId, flags: v.flags }]).sort(byId);
  t.deepEqual([...s.frontends].map(([id, f]): [number, unknown] => [id, { serviceId: f.serviceId, flags: f.flags }]).sort(byId), want);
}

test('lb4_frontends mirrors lb4_services: a slot per frontend, freed with it, a newer generation for the next frontend in it', (t) => {
  const env = setup(t);
  const r = env.open();
  r.sync(input(twoServices()));
  let s = readAll(env.root);
  frontendsMirrorServices(t, s);
  const dnsSlot = svcOf(s, '10.96.0.53:53/17').revnatId;
  const before = s.frontendGenerations.get(dnsSlot) ?? 0;
  t.true(before > 0);

  r.sync(input(twoServices().filter((f) => f.service !== 'kube-system/dns')));
  s = readAll(env.root);
  frontendsMirrorServices(t, s);
  t.false(s.frontends.has(dnsSlot), 'freed');
  t.is(s.frontendGenerations.get(dnsSlot), before, 'a freed slot keeps its generation');

  const newest = Math.max(...s.frontendGenerations.values());
  r.sync(input(twoServices()));
  s = readAll(env.root);
  frontendsMirrorServices(t, s);
  const again = svcOf(s, '10.96.0.53:53/17').revnatId;
  t.true((s.frontendGenerations.get(again) ?? 0) > newest, 'the frontend that comes back gets a newer generation than any before');
});

test('after a restart, lb4_frontends is brought to mirror lb4_services: orphan slots freed, missing ones written', (t) => {
  const env = setup(t);
  env.earlierRun();
  const frontends = openPinned(env.root, MapSpecs.frontends);
  t.teardown(() => frontends.close());
  const webSlot = svcOf(readAll(env.root), '10.96.0.10:80/6').revnatId;
  frontends.update(webSlot, { serviceId: 0, generation: 0, flags: 0 }); // as an agent that predates lb4_frontends left it
  frontends.update(4000, { serviceId: 77, generation: 3, flags: 0 }); // a frontend that is gone

  env.open().sync(input(twoServices()));
  frontendsMirrorServices(t, readAll(env.root));
});

test('a backend that leaves stays TERMINATING (existing flows keep it) until the grace ends, then goes', (t) => {
  const env = setup(t);
  let now = 1_000_000;
  const r = env.open({ now: () => now, terminatingGraceMs: 60_000 });
  r.sync(input(twoServices()));
  const [goneId] = backendIdsOf(readAll(env.root), ['198.18.2.12']);

  const res = r.sync(input(twoServices(pods(2))));
  let s = readAll(env.root);
  t.is(res.backends.terminated, 1);
  t.is(s.backends.get(goneId as number)?.flags, DSRLB_BE_F_LIVE | DSRLB_BE_F_TERMINATING);
  const web = svcOf(s, '10.96.0.10:80/6');
  t.false(s.tables.get(web.serviceId)?.slots.slice(0, web.maglevSize).includes(goneId as number), 'never picked for new flows');
  t.is(res.nextSweepAt, now + 60_000);

  now += 59_999;
  t.is(r.sweep()?.backends.deleted, 0);
  now += 1;
  const swept = r.sweep();
  t.is(swept?.backends.deleted, 1);
  t.is(swept?.nextSweepAt, null);
  s = readAll(env.root);
  t.false(s.backends.has(goneId as number));
});

test('a swept backend frees its slot but keeps its generation; every new backend gets a newer one, across restarts too', (t) => {
  const env = setup(t);
  let now = 0;
  const first = env.open({ now: () => now, terminatingGraceMs: 1000 });
  first.sync(input(twoServices()));
  const generations = [...readAll(env.root).backends.values()].map((b) => b.generation);
  t.deepEqual(new Set(generations).size, generations.length, 'one generation per backend');
  const [goneId] = backendIdsOf(readAll(env.root), ['198.18.2.12']);
  first.sync(input(twoServices(pods(2))));
  now += 1000;
  first.sweep();
  const slots = openPinned(env.root, MapSpecs.backends);
  t.teardown(() => slots.close());
  const freed = slots.lookup(goneId as number);
  t.like(freed, { flags: 0, address: '0.0.0.0' });
  t.true((freed?.generation ?? 0) > 0, 'the freed slot keeps its generation');
  first.close();

  const second = env.open({ now: () => now, terminatingGraceMs: 1000 });
  second.sync(input(twoServices([...pods(2), be('198.18.2.60')])));
  const [newId] = backendIdsOf(readAll(env.root), ['198.18.2.60']);
  t.true((readAll(env.root).backends.get(newId as number)?.generation ?? 0) > Math.max(...generations),
    'newer than any generation in the map, freed slots included');
  t.true((newId as number) < slots.info().maxEntries, 'ids index the array');
});

test('a backend that comes back within the grace gets its old id back and loses TERMINATING', (t) => {
  const env = setup(t);
  const r = env.open();
  r.sync(input(twoServices()));
  const [id] = backendIdsOf(readAll(env.root), ['198.18.2.12']);
  r.sync(input(twoServices(pods(2))));
  r.sync(input(twoServices()));
  const s = readAll(env.root);
  t.deepEqual(backendIdsOf(s, ['198.18.2.12']), [id as number]);
  t.is(s.backends.get(id as number)?.flags, DSRLB_BE_F_LIVE);
});

test('sweep before the first sync does nothing (no plan is not an empty plan)', (t) => {
  const env = setup(t);
  const before = env.earlierRun();
  const second = env.open();
  t.is(second.sweep(), null);
  t.deepEqual(readAll(env.root), before);
});

test('every change of the backend set gets a new inner map and keeps the one before as the previous table, no backends included', (t) => {
  const env = setup(t);
  const r = env.open();
  const key = '10.96.0.10:80/6';
  r.sync(input(twoServices(pods(2))));
  const s1 = readAll(env.root);
  const sid = svcOf(s1, key).serviceId;
  t.is(svcOf(s1, key).maglevSize, 1021);
  t.false(s1.prevTables.has(sid));

  const grow = r.sync(input(twoServices(pods(12))));
  const s2 = readAll(env.root);
  t.like(grow.tables, { replaced: 1, updated: 0, previousKept: 1 });
  t.like(svcOf(s2, key), { serviceId: sid, maglevSize: 2042, backendCount: 12 });
  t.is(s2.tables.get(sid)?.slots.length, 2048, 'a new table has exactly its own elements (M=2042)');
  t.deepEqual(s2.prevTables.get(sid), { innerId: s1.tables.get(sid)?.innerId, size: 1021 });
  // The slots a flow may find another backend in, in the previous table, carry the moved mark: only theirs look it up.
  const raw = readInnerRaw(s2.tables.get(sid)?.innerId as number).slice(0, 2042);
  const before = s1.tables.get(sid)?.slots as number[];
  t.deepEqual(raw.map((e) => (e & DSRLB_MAGLEV_F_MOVED) !== 0), raw.map((e, s) => slotBackend(e) !== before[s % 1021]));
  t.true(raw.some((e) => (e & DSRLB_MAGLEV_F_MOVED) !== 0) && raw.some((e) => (e & DSRLB_MAGLEV_F_MOVED) === 0));
  t.like(env.open().sync(input(twoServices(pods(12)))).tables, { elementsWritten: 0 }, 'a restarted agent finds the marks it would write');

  const shrink = r.sync(input(twoServices(pods(3))));
  const s3 = readAll(env.root);
  t.like(shrink.tables, { replaced: 1, updated: 0, previousKept: 1 });
  t.like(svcOf(s3, key), { serviceId: sid, maglevSize: 1021, backendCount: 3 });
  t.deepEqual(s3.prevTables.get(sid), { innerId: s2.tables.get(sid)?.innerId, size: 2042 });
  const ids3 = backendIdsOf(s3, ['198.18.2.10', '198.18.2.11', '198.18.2.12']);
  const expected = maglevTable(['198.18.2.10', '198.18.2.11', '198.18.2.12'].map((a, i) => ({ name: `${a}:8080`, id: ids3[i] as number })), 1021);
  t.deepEqual(s3.tables.get(sid)?.slots.slice(0, 1021), Array.from(expected));

  const none = r.sync(input(twoServices([])));
  const s4 = readAll(env.root);
  t.is(none.tables.deleted, 1);
  t.like(svcOf(s4, key), { serviceId: sid, maglevSize: 0, backendCount: 0 });
  t.false(s4.tables.has(sid));
  t.deepEqual(s4.prevTables.get(sid), { innerId: s3.tables.get(sid)?.innerId, size: 1021 }, 'its terminating backends\' flows go on');

  r.sync(input(twoServices(pods(3)).slice(2)));
  t.false(readAll(env.root).prevTables.has(sid), 'a service that is gone loses it too');
  // Taken out by pointing the slots at lb4_maglev_none (one batch each, no per-entry delete): the tables are freed.
  const noneId = pinnedNoneTableId(env.root);
  t.not(noneId, undefined);
  for (const spec of [MapSpecs.maglev, MapSpecs.maglevPrev]) t.is(withPinned(env.root, spec, (m) => m.lookup(sid)), noneId, spec.name);
  for (const gone of [s3.tables.get(sid)?.innerId, s2.tables.get(sid)?.innerId]) {
    t.throws(() => native().mapFdById(gone as number), undefined, `inner map ${gone} freed`);
  }
  t.is(withPinned(env.root, MapSpecs.maglevPrevSize, (m) => m.lookup(sid)), 0, 'no previous size');
  // A restarted reconciler sees no table there either, and writes nothing.
  const again = env.open().sync(input(twoServices(pods(3)).slice(2)));
  t.like(again.tables, { created: 0, replaced: 0, deleted: 0 });
});

test('a removed service leaves no frontend, revnat entry, table or source range behind; its nodes stay', (t) => {
  const env = setup(t);
  let now = 0;
  const r = env.open({ now: () => now, terminatingGraceMs: 1000 });
  r.sync(input(twoServices()));
  const dnsOnly = twoServices().slice(2);
  const res = r.sync(input(dnsOnly));
  now += 1000;
  r.sweep();
  const s = readAll(env.root);
  t.deepEqual([...s.services.keys()], ['10.96.0.53:53/17']);
  t.is(s.revnat.size, 1);
  t.is(s.tables.size, 1);
  t.deepEqual(s.sourceRanges, []);
  t.is(s.backends.size, 2);
  t.is(s.nodes.size, 3, 'every node stays: it may still send Geneve');
  t.like(res, { services: { deleted: 2 }, revnat: { deleted: 2 }, tables: { deleted: 1 }, sourceRanges: { deleted: 1 } });
});

test('a node that leaves the cluster goes once no backend needs it', (t) => {
  const env = setup(t);
  let now = 0;
  const r = env.open({ now: () => now, terminatingGraceMs: 1000 });
  r.sync(input(twoServices()));
  const withoutB = new Map([['node-a', '198.51.100.1'], ['node-c', '198.51.100.3']]);
  r.sync(input(twoServices([]), withoutB));
  let s = readAll(env.root);
  t.true(s.nodes.has(nodeIdForAddress('198.51.100.2')), 'terminating backends still encapsulate to it');
  now += 1000;
  r.sweep();
  s = readAll(env.root);
  t.false(s.nodes.has(nodeIdForAddress('198.51.100.2')));
  t.false(s.nodeAddrs.has('198.51.100.2'));
});

test('entries an earlier run left that the plan does not have are removed; connection tables are never touched', (t) => {
  const env = setup(t);
  const flows = openPinned(env.root, MapSpecs.flows);
  const affinity = openPinned(env.root, MapSpecs.affinity);
  const dsrRevnat = openPinned(env.root, MapSpecs.dsrRevnat);
  const snat = openPinned(env.root, MapSpecs.snat);
  const services = openPinned(env.root, MapSpecs.services);
  const backends = openPinned(env.root, MapSpecs.backends);
  t.teardown(() => { for (const m of [flows, affinity, dsrRevnat, snat, services, backends]) m.close(); });

  const tuple = { saddr: '198.51.100.100', daddr: VIP, sport: 40000, dport: 80, proto: TCP, flags: 0 };
  flows.update(tuple, { backendId: 77, serviceId: 5, backendGeneration: 3, revnatId: 9, frontendGeneration: 1, state: 0, flags: 0, createdS: 0 });
  affinity.update({ client: '198.51.100.100', serviceId: 5, netnsCookie: 0n }, { lastUsedNs: 1n, backendId: 77, backendGeneration: 3 });
  dsrRevnat.update(tuple, { address: VIP, port: 80 });
  snat.update(tuple, { saddr: '198.51.100.1', daddr: '198.18.2.10', sport: 61000, dport: 8080 });
  // What an earlier run left: a frontend and a backend that are not in the plan.
  services.update({ address: '203.0.113.99', port: 443, proto: TCP }, { serviceId: 5, affinityTimeout: 0, backendCount: 1, revnatId: 9, flags: 0, kind: 0, internalRevnat: 0, maglevSize: 0 });
  backends.update(77, { address: '198.18.2.77', port: 8443, proto: TCP, flags: DSRLB_BE_F_LIVE, nodeId: nodeIdForAddress('198.51.100.2'), generation: 3 });

  let now = 0;
  const r = env.open({ now: () => now, terminatingGraceMs: 1000 });
  r.sync(input(twoServices()));
  let s = readAll(env.root);
  t.false(s.services.has('203.0.113.99:443/6'));
  t.is(s.backends.get(77)?.flags, DSRLB_BE_F_LIVE | DSRLB_BE_F_TERMINATING, 'a live flow may still use it');
  t.false([...s.services.values()].some((v) => v.serviceId === 5), 'its service id is not reused');
  now += 1000;
  r.sweep();
  r.sync(input([]));
  now += 1000;
  r.sweep();
  s = readAll(env.root);
  t.is(s.services.size, 0);
  t.false(s.backends.has(77));

  t.deepEqual(flows.lookup(tuple), { backendId: 77, serviceId: 5, backendGeneration: 3, revnatId: 9, frontendGeneration: 1, state: 0, flags: 0, createdS: 0 });
  t.deepEqual(affinity.lookup({ client: '198.51.100.100', serviceId: 5, netnsCookie: 0n }), { lastUsedNs: 1n, backendId: 77, backendGeneration: 3 });
  t.deepEqual(dsrRevnat.lookup(tuple), { address: VIP, port: 80 });
  t.truthy(snat.lookup(tuple));
});

/**
 * Checks after every map write: each frontend with backends has a table, the
 * table has every slot its maglev_size lets the datapath compute, and every
 * slot names a backend that exists and is not terminating.
 */
function checkResolvable(root: string): string[] {
  const s = readAll(root);
  const problems: string[] = [];
  for (const [key, svc] of s.services) {
    if (svc.backendCount === 0) continue;
    const table = s.tables.get(svc.serviceId);
    if (!table) { problems.push(`${key}: no table`); continue; }
    if (svc.maglevSize === 0 || table.slots.length < svc.maglevSize) { problems.push(`${key}: maglev_size ${svc.maglevSize} > table ${table.slots.length}`); continue; }
    for (let i = 0; i < svc.maglevSize; i++) {
      const b: Lb4Backend | undefined = s.backends.get(table.slots[i] as number);
      if (!b || (b.flags & DSRLB_BE_F_TERMINATING)) { problems.push(`${key}: slot ${i} -> ${table.slots[i]} ${b ? 'terminating' : 'missing'}`); break; }
    }
  }
  return problems;
}

test.serial('at every single map write of a sync, every live frontend resolves to live backends', (t) => {
  const env = setup(t);
  const r = env.open({ terminatingGraceMs: 0 });
  const proto = BpfMap.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const methods = ['update', 'updateBatch', 'updateRaw', 'delete', 'deleteBatch'] as const;
  const originals = Object.fromEntries(methods.map((m) => [m, proto[m]])) as Record<string, (...a: unknown[]) => unknown>;
  const problems: string[] = [];
  let writes = 0;
  let step = '';
  for (const m of methods) {
    proto[m] = function (this: BpfMap<unknown, unknown>, ...args: unknown[]) {
      const out = (originals[m] as (...a: unknown[]) => unknown).apply(this, args);
      writes++;
      for (const p of checkResolvable(env.root)) problems.push(`${step}, after ${this.name}.${m}: ${p}`);
      return out;
    };
  }
  t.teardown(() => { for (const m of methods) proto[m] = originals[m] as (...a: unknown[]) => unknown; });

  for (const [name, frontends] of orderSteps()) {
    step = name;
    r.sync(input(frontends));
  }
  for (const [name, changes] of orderUpdates()) {
    step = name;
    r.updateServices(changes);
  }
  t.true(writes > 20);
  t.deepEqual(problems, []);
});

test.serial('a sync that fails part way is repaired by the next one', (t) => {
  const env = setup(t);
  const r = env.open();
  r.sync(input(twoServices(pods(2))));
  // Fail the write of lb4_services: backends and tables of the new plan are in, frontends are not.
  const services = openPinned(env.root, MapSpecs.services);
  const servicesId = services.info().id;
  services.close();
  const addon = native() as unknown as { mapUpdateBatch: (fd: number, ...rest: unknown[]) => number; mapInfo: (fd: number) => { id: number } };
  const original = addon.mapUpdateBatch;
  addon.mapUpdateBatch = (fd: number, ...rest: unknown[]) => {
    if (addon.mapInfo(fd).id === servicesId) throw new Error('injected failure');
    return original.call(addon, fd, ...rest);
  };
  try {
    t.throws(() => r.sync(input(twoServices(pods(10)))), { message: /injected failure/ });
  } finally {
    addon.mapUpdateBatch = original;
  }
  r.sync(input(twoServices(pods(10))));
  const s = readAll(env.root);
  t.like(svcOf(s, '10.96.0.10:80/6'), { backendCount: 10, maglevSize: 1021 });
  t.deepEqual(checkResolvable(env.root), []);
  const again = r.sync(input(twoServices(pods(10))));
  t.is(again.servicesChanged, 0);
  t.is(again.services.written + again.backends.written + again.tables.elementsWritten, 0);
});

test('the real program balances new flows over the backends of the table the reconciler wrote', (t) => {
  const env = setup(t);
  const r = env.open();
  const config = openPinned(env.root, MapSpecs.config);
  t.teardown(() => config.close());
  config.update(0, {
    nodeId: nodeIdForAddress(LOCAL.address), nodeAddress: LOCAL.address, mode: dsrlb_mode.DSRLB_MODE_DSR, mtu: 1500,
    genevePort: DSRLB_GENEVE_PORT, optClass: DSRLB_GENEVE_OPT_CLASS, snatPortMin: DSRLB_SNAT_PORT_MIN, snatPortMax: DSRLB_SNAT_PORT_MAX,
    replyRate: DSRLB_REPLY_RATE_DEFAULT, replyBurst: DSRLB_REPLY_BURST_DEFAULT, localEpoch: 1, sockNetnsCookie: 0n,
  });
  // Local backends: the program DNATs and passes to the stack (no route lookup needed).
  const local = pods(3, 1);
  r.sync(input([fe({ kind: 'LoadBalancer', address: VIP, backends: local })]));

  const prog = env.obj.program('xdp_lb');
  const seen = new Map<string, number>();
  for (let sport = 40000; sport < 40060; sport++) {
    const frame = buildFrame({
      eth: { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:10' },
      ip: { src: '198.51.100.100', dst: VIP, id: 1 },
      tcp: { sport, dport: 80, seq: 1, flags: { syn: true } },
    });
    const ctx = Buffer.alloc(24);
    ctx.writeUInt32LE(frame.length, 4);
    ctx.writeUInt32LE(1, 12); // ingress: lo
    const out = prog.testRun({ data: frame, ctx });
    t.is(out.retval, 2, 'XDP_PASS to the local stack');
    const d = decodeFrame(out.dataOut);
    const dst = `${d.ip?.dst}:${d.tcp?.dport}`;
    seen.set(dst, (seen.get(dst) ?? 0) + 1);
  }
  t.deepEqual([...seen.keys()].sort(), local.map((b) => `${b.address}:8080`).sort());
});

/** lb4_local_backends as "address:port/proto@service" (service 0: any). */
function localBackendEntries(root: string): string[] {
  const m = openPinned(root, MapSpecs.localBackends);
  try {
    return m.entries().map(([k]) => `${k.address}:${k.port}/${k.proto}@${k.serviceId}`).sort();
  } finally {
    m.close();
  }
}

test('lb4_local_backends: this node\'s backends under each service id that lists them and once for any; never remote ones', (t) => {
  const env = setup(t);
  const r = env.open();
  const shared = be('198.18.1.10', 'node-a');
  r.sync(input([
    fe({ address: '10.96.0.10', backends: [shared, be('198.18.1.11', 'node-a'), be('198.18.2.10')] }),
    fe({ service: 'default/api', address: '10.96.0.20', backends: [shared] }),
  ]));
  const all = readAll(env.root);
  const web = svcOf(all, '10.96.0.10:80/6').serviceId;
  const api = svcOf(all, '10.96.0.20:80/6').serviceId;
  t.deepEqual(localBackendEntries(env.root), [
    '198.18.1.10:8080/6@0', `198.18.1.10:8080/6@${api}`, `198.18.1.10:8080/6@${web}`, '198.18.1.11:8080/6@0', `198.18.1.11:8080/6@${web}`,
  ].sort());
});

test('a local backend that leaves keeps its entries while TERMINATING and loses them when deleted; one that stays in another set keeps only that', (t) => {
  const env = setup(t);
  let now = 0;
  const r = env.open({ now: () => now, terminatingGraceMs: 1000 });
  const a = be('198.18.1.10', 'node-a');
  const b = be('198.18.1.11', 'node-a');
  const web = (backends: Backend[]): Frontend => fe({ address: '10.96.0.10', backends });
  const api = (backends: Backend[]): Frontend => fe({ service: 'default/api', address: '10.96.0.20', backends });
  r.sync(input([web([a, b]), api([a])]));
  const ids = readAll(env.root);
  const webId = svcOf(ids, '10.96.0.10:80/6').serviceId;
  const apiId = svcOf(ids, '10.96.0.20:80/6').serviceId;

  const epoch = (): number => withPinned(env.root, MapSpecs.config, (m) => m.lookup(0)?.localEpoch ?? NaN);
  const before = epoch();
  t.true(before > 0, 'opening the maps bumped the epoch');

  // b leaves every set (TERMINATING), a leaves web's but stays in api's.
  const res = r.sync(input([web([be('198.18.2.10')]), api([a])]));
  t.is(res.backends.terminated, 1);
  t.is(epoch(), before + 1, 'a local backend entry went: backend nodes verify their flows again');
  r.sync(input([web([be('198.18.2.10')]), api([a])]));
  t.is(epoch(), before + 1, 'nothing removed, no bump');
  t.deepEqual(localBackendEntries(env.root), [
    '198.18.1.10:8080/6@0', `198.18.1.10:8080/6@${apiId}`, '198.18.1.11:8080/6@0', `198.18.1.11:8080/6@${webId}`,
  ].sort());

  now += 1000;
  r.sweep();
  t.deepEqual(localBackendEntries(env.root), ['198.18.1.10:8080/6@0', `198.18.1.10:8080/6@${apiId}`].sort());

  // A restarted agent adopts the entries: api goes, so a drains (TERMINATING) with its entries, then loses them.
  r.close();
  const again = env.open({ now: () => now, terminatingGraceMs: 1000 });
  again.sync(input([web([be('198.18.2.10')])]));
  t.deepEqual(localBackendEntries(env.root), ['198.18.1.10:8080/6@0', `198.18.1.10:8080/6@${apiId}`].sort());
  now += 1000;
  again.sweep();
  t.deepEqual(localBackendEntries(env.root), []);
});
