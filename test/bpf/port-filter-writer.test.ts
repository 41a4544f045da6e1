/**
 * lb4_port_filter follows the frontends: a port is unfiltered before its first
 * frontend exists and filtered again only after its last one is gone.
 */
import test from 'ava';
import { BpfObjectFile, BpfObjects } from '../../src/bpf/index.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { portFilterBit } from '../../src/bpf/port-filter.js';
import { PortFilterWriter } from '../../src/reconcile/port-filter-writer.js';
import type { Frontend } from '../../src/plan/types.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

function fe(port: number, protocol: 'TCP' | 'UDP' | 'SCTP', address = '203.0.113.10'): Frontend {
  return {
    service: 'shop/web', servicePort: `p${port}`, kind: 'LoadBalancer', address, port, protocol, backends: [],
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: 'reject',
  };
}

test('the filter passes exactly the ports no frontend uses, and follows adds and removes in the safe order', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const map = mapOf(obj, MapSpecs.portFilter);
  const filtered = (proto: number, port: number): boolean => {
    const { word, bit } = portFilterBit(proto, port);
    return ((map.lookup(word) ?? 0n) >> BigInt(bit) & 1n) === 1n;
  };
  t.false(filtered(6, 22), 'a fresh map filters nothing');

  const w = new PortFilterWriter(root);
  t.teardown(() => w.close());
  w.beforeFull([fe(80, 'TCP'), fe(53, 'UDP'), fe(9, 'SCTP')]);
  t.false(filtered(6, 80));
  t.false(filtered(6, 22), 'before the maps are written, nothing new is filtered');
  w.afterFull();
  t.false(filtered(6, 80));
  t.false(filtered(17, 53));
  t.true(filtered(6, 53), 'TCP 53 has no frontend');
  t.true(filtered(17, 80));
  t.true(filtered(6, 22));

  w.beforeAdded(['203.0.113.11|8080|TCP', '203.0.113.12|80|TCP']);
  t.false(filtered(6, 8080), 'cleared before the new frontend is written');
  w.afterRemoved(['203.0.113.10|80|TCP']);
  t.false(filtered(6, 80), 'another frontend still uses TCP 80');
  w.afterRemoved(['203.0.113.12|80|TCP']);
  t.true(filtered(6, 80), 'the last TCP 80 frontend is gone');
});
