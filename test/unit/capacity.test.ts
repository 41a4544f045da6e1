/** CapacityGate: whole Services admitted up to what the maps hold, in a stable order; the rest reported. */
import test from 'ava';
import { CapacityGate } from '../../src/reconcile/capacity.js';
import type { Frontend } from '../../src/plan/types.js';

function fe(service: string, address: string, backends: string[] = ['198.18.0.1'], ranges: string[] | null = null): Frontend {
  return {
    service, servicePort: 'http', kind: 'ClusterIP', address, port: 80, protocol: 'TCP',
    backends: backends.map((a) => ({ address: a, port: 8080, nodeName: 'n', terminating: false })),
    sessionAffinityTimeoutSeconds: null, sourceRanges: ranges, trafficScope: 'Cluster', noEndpointsAction: null,
  } as Frontend;
}

const services = (fs: readonly Frontend[]): string[] => [...new Set(fs.map((f) => f.service))].sort();

test('admits whole Services by name up to the frontend capacity and reports the rest', (t) => {
  const gate = new CapacityGate({ frontends: 3, backends: 100, sourceRanges: 100 });
  const r = gate.full([fe('ns/c', '10.0.0.3'), fe('ns/a', '10.0.0.1'), fe('ns/a', '10.0.0.11'), fe('ns/b', '10.0.0.2'), fe('ns/b', '10.0.0.12')]);
  // a (2) fits, b (2) would make 4: left out whole; c (1) still fits.
  t.deepEqual(services(r.admitted), ['ns/a', 'ns/c']);
  t.deepEqual(r.rejected.map((x) => [x.service, x.frontends, x.keptPrevious]), [['ns/b', 2, false]]);
  t.regex(r.rejected[0]?.reason ?? '', /needs 2 frontends, 1 backends and 0 source ranges; the maps hold 3 frontends \(3 used\)/);
});

test('a newcomer that sorts first never pushes out what is admitted; a removal frees room after the sync', (t) => {
  const gate = new CapacityGate({ frontends: 2, backends: 100, sourceRanges: 100 });
  gate.full([fe('ns/m', '10.0.0.1'), fe('ns/n', '10.0.0.2')]);
  let u = gate.update(new Map([['ns/a', [fe('ns/a', '10.0.0.3')]]]));
  t.deepEqual([...u.admitted], [['ns/a', []]], 'nothing to write for the newcomer');
  t.deepEqual(u.rejected.map((x) => x.service), ['ns/a']);
  t.false(gate.roomFreed);

  // Removing n and adding z in one sync: the reconciler writes before it deletes, so neither gets n's room yet.
  u = gate.update(new Map([['ns/n', []], ['ns/z', [fe('ns/z', '10.0.0.4')]]]));
  t.deepEqual([...u.admitted], [['ns/n', []], ['ns/z', []]]);
  t.true(gate.roomFreed);
  u = gate.update(new Map());
  t.deepEqual([...u.admitted.keys()], ['ns/a'], 'the first waiting Service by name takes the freed room');
  t.deepEqual(u.rejected.map((x) => x.service), ['ns/z']);
});

test('backends shared by Services count once; source ranges count per frontend', (t) => {
  const gate = new CapacityGate({ frontends: 10, backends: 2, sourceRanges: 3 });
  const r = gate.full([
    fe('ns/a', '10.0.0.1', ['198.18.0.1', '198.18.0.2']),
    fe('ns/b', '10.0.0.2', ['198.18.0.1', '198.18.0.2']),
    fe('ns/c', '10.0.0.3', ['198.18.0.3']),
    fe('ns/d', '10.0.0.4', ['198.18.0.1'], ['192.0.2.0/24', '198.51.100.0/24']),
    fe('ns/e', '10.0.0.5', ['198.18.0.1'], ['192.0.2.0/24', '198.51.100.0/24']),
  ]);
  t.deepEqual(services(r.admitted), ['ns/a', 'ns/b', 'ns/d']);
  t.deepEqual(r.rejected.map((x) => x.service), ['ns/c', 'ns/e']);
});

test('an admitted Service whose update does not fit keeps its previous version', (t) => {
  const gate = new CapacityGate({ frontends: 3, backends: 100, sourceRanges: 100 });
  const a1 = [fe('ns/a', '10.0.0.1')];
  // a2 keeps a1's frontend (updated in place) and adds two: with b it needs 4.
  gate.full([...a1, fe('ns/b', '10.0.0.2')]);
  const a2 = [fe('ns/a', '10.0.0.1'), fe('ns/a', '10.0.0.11'), fe('ns/a', '10.0.0.21')];
  const u = gate.update(new Map([['ns/a', a2]]));
  t.deepEqual(u.admitted.get('ns/a'), a1, 'the previous frontends are handed over again');
  t.deepEqual(u.rejected.map((x) => [x.service, x.keptPrevious]), [['ns/a', true]]);
  // b goes: its room is free after the sync, and a's update then fits.
  gate.update(new Map([['ns/b', []]]));
  t.true(gate.roomFreed);
  const again = gate.update(new Map());
  t.is(again.admitted.get('ns/a'), a2);
  t.deepEqual(again.rejected, []);
});

test('at a restart the Services the maps already serve are admitted first', (t) => {
  const gate = new CapacityGate({ frontends: 1, backends: 100, sourceRanges: 100 });
  const r = gate.full([fe('ns/a', '10.0.0.1'), fe('ns/z', '10.0.0.26')], (f) => f.address === '10.0.0.26');
  t.deepEqual(services(r.admitted), ['ns/z']);
  t.deepEqual(r.rejected.map((x) => x.service), ['ns/a']);
});

test('a waiting Service that leaves the plan is no longer reported; a full sync drops what is gone', (t) => {
  const gate = new CapacityGate({ frontends: 1, backends: 100, sourceRanges: 100 });
  gate.full([fe('ns/a', '10.0.0.1'), fe('ns/b', '10.0.0.2')]);
  t.deepEqual(gate.update(new Map([['ns/b', []]])).rejected, []);
  const r = gate.full([fe('ns/c', '10.0.0.3')]);
  t.deepEqual(r.admitted, [], 'a still holds the room until this sync is written');
  t.true(gate.roomFreed);
  t.deepEqual([...gate.update(new Map()).admitted.keys()], ['ns/c']);
});
