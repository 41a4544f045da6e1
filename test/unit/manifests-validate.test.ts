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
  ['a nodePort on a ClusterIP Service', svc({ ports: [{ port: 80, nodePort: 30080 }] }), 'Service default/web: spec.ports[0].nodePort: may not be used when type is ClusterIP'],
  ['a bad cluster IP', svc({ clusterIP: '10.96.0.300' }), 'Service default/web: spec.clusterIP: \'10.96.0.300\' is not an IP address'],
  ['an IPv4 address with leading zeros', svc({ clusterIP: '10.96.0.010' }), 'Service default/web: spec.clusterIP: \'10.96.0.010\' is not an IP address'],
  ['clusterIPs disagreeing with clusterIP', svc({ clusterIPs: ['10.96.0.11'] }), 'Service default/web: spec.clusterIPs[0]: must equal spec.clusterIP (\'10.96.0.10\')'],
  ['two cluster IPs of one family', svc({ clusterIPs: ['10.96.0.10', '10.96.0.11'] }), 'Service default/web: spec.clusterIPs: the two addresses must be of different families'],
  ['ipFamilies disagreeing with clusterIPs', svc({ clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv6'] }), 'Service default/web: spec.ipFamilies[0]: \'IPv6\' does not match spec.clusterIPs[0] (IPv4)'],
  ['a bad external IP', svc({ externalIPs: ['203.0.113.x'] }), 'Service default/web: spec.externalIPs[0]: \'203.0.113.x\' is not an IP address'],
  ['a bad source range', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['10.0.0.0/33'] }), 'Service default/web: spec.loadBalancerSourceRanges[0]: \'10.0.0.0/33\' is not a CIDR (e.g. 203.0.113.0/24)'],
  ['source ranges on a NodePort Service', svc({ type: 'NodePort', loadBalancerSourceRanges: ['10.0.0.0/8'] }), 'Service default/web: spec.loadBalancerSourceRanges: may only be used when type is LoadBalancer'],
  ['an affinity timeout above a day', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), 'Service default/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is not a whole number of seconds in 1-86400'],
  ['an unknown traffic policy', svc({ type: 'NodePort', externalTrafficPolicy: 'Global' }), 'Service default/web: spec.externalTrafficPolicy: \'Global\' is not one of Cluster, Local'],
  ['externalTrafficPolicy on a ClusterIP Service without externalIPs', svc({ externalTrafficPolicy: 'Local' }), 'Service default/web: spec.externalTrafficPolicy: may only be set for externally-accessible Services (NodePort, LoadBalancer, or externalIPs)'],
  ['a healthCheckNodePort without Local policy', svc({ type: 'LoadBalancer', healthCheckNodePort: 30123 }), 'Service default/web: spec.healthCheckNodePort: may only be set when type is LoadBalancer and externalTrafficPolicy is Local'],
  ['a bad ingress IP', svc({ type: 'LoadBalancer' }, { status: { loadBalancer: { ingress: [{ ip: 'lb.example.com' }] } } }), 'Service default/web: status.loadBalancer.ingress[0].ip: \'lb.example.com\' is not an IP address'],
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
  ['several problems at once: the first three, then a count', svc({ clusterIP: 'x', externalIPs: ['y', 'z'], ports: [{ port: 0 }] }), 'Service default/web: spec.ports[0].port: 0 is not a port number (1-65535); spec.clusterIP: \'x\' is not an IP address; spec.externalIPs[0]: \'y\' is not an IP address (and 1 more)'],
];

for (const [name, raw, reason] of invalid) {
  test(`rejects ${name}`, (t) => {
    const r = validateObject(raw);
    t.is(r.status, 'invalid');
    if (r.status === 'invalid') t.is(r.reason, reason);
  });
}

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
});
