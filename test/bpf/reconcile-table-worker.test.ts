/**
 * The reconciler with its Maglev table worker thread started: a sync large
 * enough to build its tables on the worker writes exactly the maps a
 * reconciler building them inline writes.
 */
import test, { type ExecutionContext } from 'ava';
import { BpfObjectFile, BpfObjects } from '../../src/bpf/index.js';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { MapSpecs, openPinned } from '../../src/bpf/map-specs.js';
import { closeFd, openInnerTable, readInnerTable } from '../../src/reconcile/maps/maglev-maps.js';
import { slotBackend } from '../../src/reconcile/moved-slots.js';
import { Reconciler } from '../../src/reconcile/index.js';
import type { Frontend } from '../../src/plan/index.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const LOCAL = { name: 'node-a', address: '198.51.100.1' };
const NODES = new Map([['node-a', '198.51.100.1'], ['node-b', '198.51.100.2']]);

/** 80 ClusterIP services (more than the builder keeps inline), 1 to 40 backends each. */
function frontends(): Frontend[] {
  return Array.from({ length: 80 }, (_, s) => ({
    service: `default/svc-${String(s).padStart(2, '0')}`, servicePort: 'http', kind: 'ClusterIP' as const,
    address: `10.96.1.${s + 1}`, port: 80, protocol: 'TCP' as const,
    backends: Array.from({ length: 1 + ((s * 7) % 40) }, (_, k) => ({ address: `198.18.${s}.${k + 10}`, port: 8080, nodeName: 'node-b', terminating: false })),
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster' as const, noEndpointsAction: null,
  }));
}

/** Each service's table as the backends' addresses, read back from the maps, by cluster IP. */
function tablesByService(root: string): [string, string[]][] {
  const services = openPinned(root, MapSpecs.services);
  const backends = openPinned(root, MapSpecs.backends);
  const maglev = openPinned(root, MapSpecs.maglev);
  try {
    const addressOf = new Map(liveBackends(backends).map(([id, b]) => [id, b.address]));
    const out: [string, string[]][] = [];
    for (const [key, svc] of services.entries()) {
      const fd = openInnerTable(svc.serviceId, maglev.lookup(svc.serviceId) as number);
      try {
        out.push([key.address, [...readInnerTable(svc.serviceId, fd, svc.maglevSize).slots].map((id) => addressOf.get(slotBackend(id)) ?? `unknown ${id}`)]);
      } finally {
        closeFd(fd);
      }
    }
    return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  } finally {
    services.close();
    backends.close();
    maglev.close();
  }
}

async function syncInto(t: ExecutionContext, worker: boolean): Promise<[string, string[]][]> {
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const r = Reconciler.open({ bpffsRoot: root });
  t.teardown(() => r.close());
  if (worker) t.is(await r.startTableWorker(), null);
  const result = r.sync({ plan: { frontends: frontends(), healthCheckNodePorts: [] }, localNode: LOCAL, nodeAddresses: NODES });
  t.is(result.tables.created, 80);
  return tablesByService(root);
}

test('tables built with the worker thread are the tables built inline', async (t) => {
  requireRoot(t);
  const inline = await syncInto(t, false);
  const withWorker = await syncInto(t, true);
  t.is(withWorker.length, 80);
  t.deepEqual(withWorker, inline);
});
