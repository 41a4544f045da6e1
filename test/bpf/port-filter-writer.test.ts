/**
 * lb4_port_filter follows the frontends the reconciler writes (one step at
 * each end of its ordered apply), against the real maps: a port is
 * unfiltered before its first frontend exists and filtered again only after
 * its last one is gone.
 */
import test from 'ava';
import { BpfObjectFile, BpfObjects } from '../../src/bpf/index.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { portFilterBit } from '../../src/bpf/port-filter.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { openBpfMaps } from '../../src/reconcile/maps/bpf-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Frontend, Plan } from '../../src/plan/types.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const LOCAL = { name: 'node-a', address: '198.51.100.1' };

function fe(port: number, protocol: 'TCP' | 'UDP' | 'SCTP', address = '203.0.113.10', service = 'shop/web'): Frontend {
  return {
    service, servicePort: `p${port}`, kind: 'LoadBalancer', address, port, protocol, backends: [],
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: 'reject',
  };
}

test('the filter passes exactly the ports no frontend uses, and follows adds and removes in the safe order', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const map = mapOf(obj, MapSpecs.portFilter);
  const services = mapOf(obj, MapSpecs.services);
  const filtered = (proto: number, port: number): boolean => {
    const { word, bit } = portFilterBit(proto, port);
    return ((map.lookup(word) ?? 0n) >> BigInt(bit) & 1n) === 1n;
  };
  t.false(filtered(6, 22), 'a fresh map filters nothing');

  // After every single write: no frontend in lb4_services has its port filtered.
  const problems: string[] = [];
  const maps = new FailingMaps(openBpfMaps(root), {
    after: (what) => {
      for (const [k] of services.entries()) if ((k.proto === 6 || k.proto === 17) && filtered(k.proto, k.port)) problems.push(`${what}: ${k.address}:${k.port}/${k.proto} filtered`);
    },
  });
  const r = new Reconciler(maps);
  t.teardown(() => r.close());
  const plan = (frontends: Frontend[]): Plan => ({ frontends, healthCheckNodePorts: [] });

  r.sync({ plan: plan([fe(80, 'TCP'), fe(53, 'UDP'), fe(9, 'SCTP')]), localNode: LOCAL, nodeAddresses: new Map() });
  t.false(filtered(6, 80));
  t.false(filtered(17, 53));
  t.true(filtered(6, 53), 'TCP 53 has no frontend');
  t.true(filtered(17, 80));
  t.true(filtered(6, 22));

  r.updateServices(new Map([['shop/other', [fe(8080, 'TCP', '203.0.113.11', 'shop/other'), fe(80, 'TCP', '203.0.113.12', 'shop/other')]]]));
  t.false(filtered(6, 8080));
  r.updateServices(new Map([['shop/web', [fe(53, 'UDP'), fe(9, 'SCTP')]]]));
  t.false(filtered(6, 80), 'another frontend still uses TCP 80');
  r.updateServices(new Map([['shop/other', [fe(8080, 'TCP', '203.0.113.11', 'shop/other')]]]));
  t.true(filtered(6, 80), 'the last TCP 80 frontend is gone');
  t.false(filtered(6, 8080));
  t.deepEqual(problems, []);
});
