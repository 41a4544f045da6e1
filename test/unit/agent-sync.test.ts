/**
 * The agent's pipeline (src/agent/sync.ts) over the in-memory maps, without
 * root: it owns FullSync, so a sync that fails goes full next time (plan and
 * maps compared whole), a node change goes full, and otherwise changes go to
 * the reconciler per service; the periodic resync repairs the maps.
 */
import test from 'ava';
import { SyncPipeline } from '../../src/agent/sync.js';
import { DSRLB_BE_F_TERMINATING } from '../../src/bpf/consts.generated.js';
import type { StateChange } from '../../src/k8s/source.js';
import { FullSync } from '../../src/model/full-sync.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { node, slice, state, svc } from '../fixtures/plan-builders.js';

const LOCAL = { name: 'node-a', address: '198.51.100.1' };

function world(backends: string[]) {
  return state({
    services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }),
      svc('api', { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, targetPort: 8080 }] })],
    slices: [slice('web-1', { service: 'web', endpoints: backends.map((ip) => ({ ip, node: 'node-a' })) }),
      slice('api-1', { service: 'api', endpoints: [{ ip: '198.18.3.1', node: 'node-a' }] })],
    nodes: [node('node-a', ['198.51.100.1'])],
  });
}

function change(reason: 'initial' | 'update', over: Partial<Record<'services' | 'endpointSlices' | 'nodes', string[]>> = {}): StateChange {
  return {
    reason, since: performance.now(),
    changed: { services: new Set(over.services ?? []), endpointSlices: new Set(over.endpointSlices ?? []), nodes: new Set(over.nodes ?? []) },
  };
}

test('full after a failure, a node change or a source restart; per service otherwise', async (t) => {
  const mem = new MemoryMaps();
  const maps = new FailingMaps(mem);
  const fullSync = new FullSync();
  const r = new Reconciler(maps, { fullSync });
  const p = new SyncPipeline(LOCAL, r, fullSync);
  t.teardown(() => r.close());
  await p.tableWorker;

  t.true(p.handle(world(['198.18.1.1']), change('initial')).full);
  t.false(fullSync.needed);
  t.false(p.handle(world(['198.18.1.2']), change('update', { endpointSlices: ['default/web-1'] })).full);

  maps.failAt = maps.calls + 1;
  t.throws(() => p.handle(world(['198.18.1.3']), change('update', { endpointSlices: ['default/web-1'] })));
  t.true(fullSync.has('write-failure'));
  const after = p.handle(world(['198.18.1.4']), change('update', { endpointSlices: ['default/web-1'] }));
  t.true(after.full, 'the sync after a failure is full');
  t.is(after.result?.servicesChanged, 2, 'every service compared with the maps read back');
  t.false(fullSync.needed);
  t.deepEqual(mem.backends.scan().live.filter(([, b]) => !(b.flags & DSRLB_BE_F_TERMINATING)).map(([, b]) => b.address).filter((a) => a.startsWith('198.18.1.')), ['198.18.1.4']);

  t.true(p.handle(world(['198.18.1.4']), change('update', { nodes: ['node-a'] })).full, 'a node change is full');
  t.true(p.handle(world(['198.18.1.4']), change('initial')).full, 'a source restart is full');
  t.false(p.handle(world(['198.18.1.5']), change('update', { endpointSlices: ['default/web-1'] })).full);

  mem.services.delete({ address: '10.96.0.11', port: 80, proto: 6 });
  const repaired = p.resync();
  t.is(repaired?.services.written, 1);
  t.false(fullSync.needed);
  t.truthy(mem.services.lookup({ address: '10.96.0.11', port: 80, proto: 6 }));
});
