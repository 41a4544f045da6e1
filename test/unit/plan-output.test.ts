/**
 * The Plan is the `lbctl plan -o json` contract (docs/design.md §4): exact keys in
 * contract order, deterministic order, one owner per frontend; plus the
 * helpers the reconcile layer derives its identities from.
 */
import test from 'ava';
import { DsrlbError } from '../../src/errors.js';
import {
  assemblePlan, backendSetKey, buildPlan, buildPlanReport, planService, sliceServiceKey, frontendFamily, frontendKey, nodeAddressForFamily, nodeHostAddresses, resolvePlanNode,
} from '../../src/plan/index.js';
import { lines, NODE_A, node, slice, state, svc } from '../fixtures/plan-builders.js';

const lb = svc('shop', {
  type: 'LoadBalancer', clusterIP: '10.96.0.20', externalTrafficPolicy: 'Local', healthCheckNodePort: 30123,
  sessionAffinity: 'ClientIP', loadBalancerSourceRanges: ['198.51.100.0/24'],
  ports: [{ name: 'http', port: 80, nodePort: 30080 }],
}, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } });
const shopSlice = slice('shop-1', { service: 'shop', endpoints: [{ ip: '198.18.1.9', node: 'node-a' }, { ip: '198.18.2.9', node: 'node-b' }] });

test('serializes to exactly the contract JSON', (t) => {
  const plan = buildPlan(state({ services: [lb], slices: [shopSlice] }), NODE_A);
  const backendsAll = [
    { address: '198.18.1.9', port: 8080, nodeName: 'node-a', terminating: false },
    { address: '198.18.2.9', port: 8080, nodeName: 'node-b', terminating: false },
  ];
  const local = [backendsAll[0]];
  const fe = (kind: string, address: string, port: number, backends: unknown, scope: string, ranges: string[] | null) => ({
    service: 'default/shop', servicePort: 'http', kind, address, port, protocol: 'TCP', backends,
    sessionAffinityTimeoutSeconds: 10800, sourceRanges: ranges, trafficScope: scope, noEndpointsAction: null,
  });
  const expected = {
    frontends: [
      fe('ClusterIP', '10.96.0.20', 80, backendsAll, 'Cluster', null),
      fe('NodePort', '198.51.100.1', 30080, local, 'Local', null),
      fe('LoadBalancer', '203.0.113.10', 80, local, 'Local', ['198.51.100.0/24']),
    ],
    healthCheckNodePorts: [{ service: 'default/shop', port: 30123, localReadyEndpoints: 1 }],
  };
  // Same text, so the same keys in the same order, nothing extra.
  t.is(JSON.stringify(plan), JSON.stringify(expected));
});

test('frontends sort by service, service port, protocol, kind, then address numerically', (t) => {
  const services = [
    svc('b', { type: 'NodePort', clusterIP: '10.96.0.2', externalIPs: ['203.0.113.100', '203.0.113.9'], ports: [{ name: 'x', port: 1, nodePort: 30001 }] }),
    svc('a', { clusterIP: '10.96.0.1', ports: [{ name: 'z', port: 2 }, { name: 'y', port: 3, protocol: 'UDP' }, { name: 'y', port: 3, protocol: 'TCP' }] }),
  ];
  t.deepEqual(lines(buildPlan(state({ services }), { name: 'node-a', addresses: ['198.51.100.10', '198.51.100.9'] })), [
    'default/a:y ClusterIP 10.96.0.1:3/TCP Cluster -> reject',
    'default/a:y ClusterIP 10.96.0.1:3/UDP Cluster -> reject',
    'default/a:z ClusterIP 10.96.0.1:2/TCP Cluster -> reject',
    'default/b:x ClusterIP 10.96.0.2:1/TCP Cluster -> reject',
    'default/b:x NodePort 198.51.100.9:30001/TCP Cluster -> reject',
    'default/b:x NodePort 198.51.100.10:30001/TCP Cluster -> reject',
    'default/b:x ExternalIP 203.0.113.9:1/TCP Cluster -> reject',
    'default/b:x ExternalIP 203.0.113.100:1/TCP Cluster -> reject',
  ]);
});

test('the same input in any order gives the same plan, and the input is not changed', (t) => {
  const services = [lb, svc('web', { clusterIP: '10.96.0.10' }), svc('api', { clusterIP: '10.96.0.11' }, { namespace: 'x' })];
  const slices = [shopSlice, slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })];
  const before = structuredClone({ services, slices });
  const a = buildPlan(state({ services, slices }), NODE_A);
  const b = buildPlan(state({ services: [...services].reverse(), slices: [...slices].reverse() }), NODE_A);
  t.deepEqual(a, b);
  t.deepEqual({ services, slices }, before);
});

test('planService per Service + assemblePlan is buildPlanReport (for re-planning only what changed)', (t) => {
  const services = [lb, svc('web', { clusterIP: '10.96.0.10', externalIPs: ['203.0.113.10'] }), svc('api', { clusterIP: '10.96.0.11' }, { namespace: 'x' })];
  const slices = [shopSlice, slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })];
  const whole = buildPlanReport(state({ services, slices }), NODE_A);
  const parts = services.map((s) => planService(s, slices.filter((sl) => sliceServiceKey(sl) === `${s.metadata?.namespace}/${s.metadata?.name}`), NODE_A));
  t.deepEqual(assemblePlan(parts), whole);
  // Slices of other Services given by mistake are ignored.
  t.deepEqual(planService(lb, slices, NODE_A), parts[0]);
  t.is(whole.warnings.length, 1, 'web\'s external IP collides with shop\'s ingress IP');
});

test('a frontend two Services claim goes to the first by name; the other is reported', (t) => {
  const services = [
    svc('b', { clusterIP: '10.96.0.2', externalIPs: ['203.0.113.20'] }),
    svc('a', { clusterIP: '10.96.0.1', externalIPs: ['203.0.113.20'] }),
  ];
  const { plan, warnings } = buildPlanReport(state({ services }), NODE_A);
  t.deepEqual(lines(plan), [
    'default/a:http ClusterIP 10.96.0.1:80/TCP Cluster -> reject',
    'default/a:http ExternalIP 203.0.113.20:80/TCP Cluster -> reject',
    'default/b:http ClusterIP 10.96.0.2:80/TCP Cluster -> reject',
  ]);
  t.deepEqual(warnings, [{ service: 'default/b', message: 'ExternalIP 203.0.113.20:80/TCP is already default/a\'s ExternalIP frontend; left out' }]);
});

test('an external IP equal to the Service\'s own ingress IP is one frontend, without a warning', (t) => {
  const s = svc('web', { type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['203.0.113.10'], allocateLoadBalancerNodePorts: false },
    { status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } });
  const { plan, warnings } = buildPlanReport(state({ services: [s] }), NODE_A);
  t.deepEqual(lines(plan), [
    'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> reject',
    'default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster -> reject',
  ]);
  t.deepEqual(warnings, []);
});

test('an empty cluster is an empty plan', (t) => {
  t.deepEqual(buildPlan(state({}), NODE_A), { frontends: [], healthCheckNodePorts: [] });
});

test('a node address that is not an IP is an error, not a silent omission', (t) => {
  const err = t.throws(() => buildPlan(state({}), { name: 'node-a', addresses: ['node-a.example'] }), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_INVALID_ARGUMENT');
});

test('frontendKey, frontendFamily and backendSetKey identify frontends for the reconcile layer', (t) => {
  const plan = buildPlan(state({ services: [lb], slices: [shopSlice] }), { name: 'node-a', addresses: ['198.51.100.1'] });
  const [cip, np, lbf] = plan.frontends;
  if (!cip || !np || !lbf) return t.fail('expected three frontends');
  t.is(frontendKey(cip) as string, '10.96.0.20|80|6');
  t.is(frontendFamily(cip), 'IPv4');
  t.is(frontendFamily({ address: 'fd00::1' }), 'IPv6');
  // NodePort and LoadBalancer share the Local backend set; the cluster IP has its own.
  t.is(backendSetKey(np), backendSetKey(lbf));
  t.not(backendSetKey(cip), backendSetKey(np));
  t.is(new Set(plan.frontends.map(frontendKey)).size, plan.frontends.length);
});

test('node addresses: InternalIP first, then the other family; resolvePlanNode fills from the Node object', (t) => {
  const n = {
    metadata: { name: 'node-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
    status: { addresses: [
      { type: 'ExternalIP', address: '192.0.2.1' }, { type: 'Hostname', address: 'node-a' },
      { type: 'InternalIP', address: '198.51.100.1' }, { type: 'InternalIP', address: '198.51.100.2' },
      { type: 'InternalIP', address: '2001:db8:100::1' },
    ] },
  };
  t.deepEqual(nodeHostAddresses(n), ['198.51.100.1', '2001:db8:100::1']);
  t.is(nodeAddressForFamily(n, 'IPv6'), '2001:db8:100::1');
  t.is(nodeAddressForFamily(node('node-b', ['198.51.100.2']), 'IPv6'), null);
  t.deepEqual(nodeHostAddresses(undefined), []);
  const s = state({ nodes: [n] });
  t.deepEqual(resolvePlanNode(s, { name: 'node-a' }), {
    name: 'node-a', addresses: ['198.51.100.1', '2001:db8:100::1'], zone: 'zone-a', labels: { 'topology.kubernetes.io/zone': 'zone-a' },
  });
  t.deepEqual(resolvePlanNode(s, { name: 'node-a', addresses: ['198.51.100.9'], zone: 'zone-z' }).addresses, ['198.51.100.9']);
  t.is(resolvePlanNode(s, { name: 'node-a', zone: 'zone-z' }).zone, 'zone-z');
  t.deepEqual(resolvePlanNode(s, { name: 'node-x' }), { name: 'node-x', addresses: [], labels: {} });
});
