/**
 * Per-object validation (exported for the live sources too): what the API
 * server would reject, one reason line naming the field; valid objects come
 * back defaulted.
 */
import test from 'ava';
import { validateEndpointSlice, validateNode, validateObject, validateService } from '../../src/k8s/manifests.js';

const svc = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { clusterIP: '10.96.0.10', ports: [{ port: 80 }], ...spec }, ...extra });
const eps = (extra: Record<string, unknown>) =>
  ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [], ...extra });

const invalid: [string, unknown, string][] = [
  ['a Service without metadata.name', { kind: 'Service', metadata: {}, spec: {} }, 'Service: metadata.name: is missing'],
  ['a port number out of range', svc({ ports: [{ port: 70000 }] }), 'Service default/web: spec.ports[0].port: 70000 is not a port number (1-65535)'],
  ['a port number as a string', svc({ ports: [{ port: '80' }] }), 'Service default/web: spec.ports[0].port: \'80\' is not a port number (1-65535)'],
  ['two ports, one unnamed', svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), 'Service default/web: spec.ports[1].name: is required when the Service has more than one port'],
  ['two ports with one name', svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'Service default/web: spec.ports[1].name: duplicate name \'a\''],
  ['the same port and protocol twice', svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'TCP' }] }), 'Service default/web: spec.ports[1]: duplicate port 80/TCP'],
  ['an unknown protocol', svc({ ports: [{ port: 80, protocol: 'tcp' }] }), 'Service default/web: spec.ports[0].protocol: \'tcp\' is not one of TCP, UDP, SCTP'],
  ['a bad cluster IP', svc({ clusterIP: '10.96.0.300' }), 'Service default/web: spec.clusterIP: \'10.96.0.300\' is not an IP address'],
  ['clusterIPs disagreeing with clusterIP', svc({ clusterIPs: ['10.96.0.11'] }), 'Service default/web: spec.clusterIPs[0]: must equal spec.clusterIP (\'10.96.0.10\')'],
  ['two cluster IPs of one family', svc({ clusterIPs: ['10.96.0.10', '10.96.0.11'] }), 'Service default/web: spec.clusterIPs: the two addresses must be of different families'],
  ['ipFamilies disagreeing with clusterIPs', svc({ clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv6'] }), 'Service default/web: spec.ipFamilies[0]: \'IPv6\' does not match spec.clusterIPs[0] (IPv4)'],
  ['a bad source range', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] }), 'Service default/web: spec.loadBalancerSourceRanges[0]: \'10.0.0.0/33\' is not a CIDR (e.g. 203.0.113.0/24)'],
  ['source ranges on a NodePort Service', svc({ type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] }), 'Service default/web: spec.loadBalancerSourceRanges: may only be used when type is LoadBalancer'],
  ['an affinity timeout above a day', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), 'Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is not a whole number of seconds in 1-86400'],
  ['an unknown traffic policy', svc({ type: 'NodePort', externalTrafficPolicy: 'Global' }), 'Service default/web: spec.externalTrafficPolicy: \'Global\' is not one of Cluster, Local'],
  ['an unknown ipMode', svc({ type: 'LoadBalancer' }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.1', ipMode: 'Direct' }] } } }), 'Service default/web: status.loadBalancer.ingress[0].ipMode: \'Direct\' is not one of VIP, Proxy'],
  ['ports that are not a list', svc({ ports: { port: 80 } }), 'Service default/web: spec.ports: is not a list'],
  ['a slice without addressType', eps({ addressType: undefined }), 'EndpointSlice default/web-1: addressType: is missing (IPv4, IPv6 or FQDN)'],
  ['a slice endpoint without addresses', eps({ endpoints: [{ addresses: [] }] }), 'EndpointSlice default/web-1: endpoints[0].addresses: must hold 1 to 100 addresses'],
  ['an IPv6 address in an IPv4 slice', eps({ endpoints: [{ addresses: ['2001:db8::1'] }] }), 'EndpointSlice default/web-1: endpoints[0].addresses[0]: \'2001:db8::1\' is not an IPv4 address (addressType)'],
  ['a bad endpoint address', eps({ endpoints: [{ addresses: ['198.18.1'] }] }), 'EndpointSlice default/web-1: endpoints[0].addresses[0]: \'198.18.1\' is not an IP address'],
  ['a condition that is not a boolean', eps({ endpoints: [{ addresses: ['198.18.1.5'], conditions: { ready: 'yes' } }] }), 'EndpointSlice default/web-1: endpoints[0].conditions.ready: \'yes\' is not true/false'],
  ['a zone hint without a name', eps({ endpoints: [{ addresses: ['198.18.1.5'], hints: { forZones: [{}] } }] }), 'EndpointSlice default/web-1: endpoints[0].hints.forZones[0].name: is missing'],
  ['a slice port out of range', eps({ ports: [{ name: 'http', port: 0 }] }), 'EndpointSlice default/web-1: ports[0].port: 0 is not a port number (1-65535)'],
  ['two slice ports with one name', eps({ ports: [{ port: 80 }, { port: 81 }] }), 'EndpointSlice default/web-1: ports[1].name: duplicate name \'\''],
  ['a Node with a bad InternalIP', { kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: 'x' }] } }, 'Node node-a: status.addresses[0].address: \'x\' is not an IP address'],
  ['several problems at once: the first three, then a count', svc({ clusterIP: 'x', ipFamilies: ['IPv5', 'IPv7'], ports: [{ port: 0 }] }), 'Service default/web: spec.ports[0].port: 0 is not a port number (1-65535); spec.clusterIP: \'x\' is not an IP address; spec.ipFamilies[0]: \'IPv5\' is not one of IPv4, IPv6 (and 1 more)'],
  ['a source range with leading zeros that is no CIDR either', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['010.0.0.0/40'] }), 'Service default/web: spec.loadBalancerSourceRanges[0]: \'010.0.0.0/40\' is not a CIDR (e.g. 203.0.113.0/24)'],
];

for (const [name, raw, reason] of invalid) {
  test(`rejects ${name}`, (t) => {
    const r = validateObject(raw);
    t.is(r.status, 'invalid');
    if (r.status === 'invalid') t.is(r.reason, reason);
  });
}

/**
 * What the API server refuses today but kube-proxy serves (issue 13): the
 * object stays valid, with a warning naming the field, and is served the way
 * kube-proxy serves it.
 */
const served: [string, unknown, string[]][] = [
  ['a nodePort on a ClusterIP Service', svc({ ports: [{ port: 80, nodePort: 30080 }] }),
    ['spec.ports[0].nodePort: the API server refuses a nodePort when type is ClusterIP; served as kube-proxy serves it (a NodePort frontend)']],
  ['a bad external IP (skipped, the others served)', svc({ externalIPs: ['203.0.113.x', '203.0.113.7'] }),
    ['spec.externalIPs[0]: \'203.0.113.x\' is not an IP address: ignored, as kube-proxy ignores it']],
  ['externalTrafficPolicy on a ClusterIP Service without externalIPs', svc({ externalTrafficPolicy: 'Local' }),
    ['spec.externalTrafficPolicy: the API server allows it only for externally-accessible Services (NodePort, LoadBalancer, or externalIPs); ignored, as by kube-proxy']],
  ['a healthCheckNodePort without Local policy', svc({ type: 'LoadBalancer', healthCheckNodePort: 30123 }),
    ['spec.healthCheckNodePort: the API server allows it only when type is LoadBalancer and externalTrafficPolicy is Local; ignored (no health check is served), as by kube-proxy']],
  ['a hostname as an ingress IP', svc({ type: 'LoadBalancer' }, { status: { loadBalancer: { ingress: [{ ip: 'lb.example.com' }] } } }),
    ['status.loadBalancer.ingress[0].ip: \'lb.example.com\' is not an IP address: ignored, as kube-proxy ignores it']],
  ['a targetPort out of range (forwarding uses the EndpointSlice\'s ports)', svc({ ports: [{ port: 80, targetPort: 70000 }] }),
    ['spec.ports[0].targetPort: 70000 is not a port number or name (not used for forwarding: the EndpointSlice\'s ports are)']],
];

for (const [name, raw, warnings] of served) {
  test(`serves with a warning: ${name}`, (t) => {
    const r = validateObject(raw);
    t.is(r.status, 'valid');
    if (r.status === 'valid') t.deepEqual(r.warnings, warnings);
  });
}

const zeros = (field: string, text: string, decimal: string): string =>
  `${field}: '${text}' has leading zeros: read as ${decimal}, as kube-proxy reads it (the API server refuses such values now)`;

test('IPv4 leading zeros are read as decimal, as kube-proxy reads them, in every field it reads; the object holds the decimal reading', (t) => {
  const raw = svc({
    type: 'LoadBalancer', clusterIP: '010.096.000.010', clusterIPs: ['010.096.000.010'], externalIPs: ['203.000.113.007'],
    loadBalancerSourceRanges: ['198.051.100.000/24'],
  }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.010' }] } } });
  const before = structuredClone(raw);
  const r = validateService(raw);
  t.is(r.status, 'valid');
  if (r.status !== 'valid' || r.kind !== 'Service') return;
  t.deepEqual(r.warnings, [
    zeros('spec.clusterIP', '010.096.000.010', '10.96.0.10'),
    zeros('spec.clusterIPs[0]', '010.096.000.010', '10.96.0.10'),
    zeros('spec.externalIPs[0]', '203.000.113.007', '203.0.113.7'),
    zeros('spec.loadBalancerSourceRanges[0]', '198.051.100.000/24', '198.51.100.0/24'),
    zeros('status.loadBalancer.ingress[0].ip', '203.0.113.010', '203.0.113.10'),
  ]);
  t.like(r.object.spec, { clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], externalIPs: ['203.0.113.7'], loadBalancerSourceRanges: ['198.51.100.0/24'] });
  t.is(r.object.status?.loadBalancer?.ingress?.[0]?.ip, '203.0.113.10');
  t.deepEqual(raw, before, 'the input is untouched');

  const slice = validateEndpointSlice(eps({ endpoints: [{ addresses: ['198.18.1.5'] }, { addresses: ['198.018.001.006'] }] }));
  t.like(slice, { status: 'valid', warnings: [zeros('endpoints[1].addresses[0]', '198.018.001.006', '198.18.1.6')] });
  if (slice.status === 'valid' && slice.kind === 'EndpointSlice') t.deepEqual(slice.object.endpoints.map((e) => e.addresses[0]), ['198.18.1.5', '198.18.1.6']);

  const node = validateNode({ kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '198.51.100.01' }] } });
  t.like(node, { status: 'valid', warnings: [zeros('status.addresses[0].address', '198.51.100.01', '198.51.100.1')] });
  if (node.status === 'valid' && node.kind === 'Node') t.is(node.object.status?.addresses?.[0]?.address, '198.51.100.1');
});

test('a valid Service comes back defaulted with its key; the input is untouched', (t) => {
  const raw = svc({ clusterIP: '10.96.0.10', loadBalancerSourceRanges: [' 10.0.0.0/8'], type: 'LoadBalancer' }, { metadata: { name: 'web', namespace: 'shop' } });
  const before = structuredClone(raw);
  const r = validateService(raw);
  t.is(r.status, 'valid');
  if (r.status !== 'valid' || r.kind !== 'Service') return;
  t.is(r.key, 'shop/web');
  t.like(r.object.spec, { type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true });
  t.deepEqual(raw, before);
});

test('per-kind validators accept objects without kind (as list items come from the API)', (t) => {
  t.like(validateEndpointSlice({ metadata: { name: 's', namespace: 'x' }, addressType: 'FQDN', endpoints: [{ addresses: ['a.example'] }] }),
    { status: 'valid', kind: 'EndpointSlice', key: 'x/s' });
  t.like(validateNode({ metadata: { name: 'node-a' } }), { status: 'valid', kind: 'Node', key: 'node-a' });
});

test('other kinds are ignored, not invalid', (t) => {
  t.like(validateObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } }), { status: 'ignored', kind: 'Deployment', key: 'web' });
  t.like(validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'x' } }), { status: 'ignored', kind: 'ConfigMap', key: 'x/c' });
});
