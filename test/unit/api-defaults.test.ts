/**
 * API defaulting for hand-written objects (SetDefaults_Service,
 * SetDefaults_EndpointPort, and what the Service registry fills in): a manifest
 * means what it would mean after `kubectl apply`.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { defaultEndpointSlice, defaultService } from '../../src/api/defaults.js';

const bare = (spec: V1Service['spec'], status?: V1Service['status']): V1Service => ({
  metadata: { name: 'web' }, spec, ...(status ? { status } : {}),
});

interface Case { name: string; input: V1Service; expected: V1Service }

const cases: Case[] = [
  {
    name: 'ClusterIP Service: type, affinity None, TCP, targetPort = port, ITP Cluster, families from the cluster IP, namespace default',
    input: bare({ clusterIP: '10.96.0.10', ports: [{ port: 80 }] }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      },
    },
  },
  {
    name: 'NodePort: externalTrafficPolicy Cluster; a named targetPort stays',
    input: bare({ type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 'http', protocol: 'UDP', nodePort: 30080 }] }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'NodePort', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster',
        ports: [{ port: 80, protocol: 'UDP', targetPort: 'http', nodePort: 30080 }],
      },
    },
  },
  {
    name: 'LoadBalancer: allocateLoadBalancerNodePorts true, ingress IP without ipMode is a VIP',
    input: bare({ type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ port: 80, targetPort: 0 }] },
      { loadBalancer: { ingress: [{ ip: '203.0.113.10' }, { ip: '203.0.113.11', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'LoadBalancer', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster', allocateLoadBalancerNodePorts: true,
        ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }],
      },
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10', ipMode: 'VIP' }, { ip: '203.0.113.11', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } },
    },
  },
  {
    name: 'ClusterIP with externalIPs is externally accessible: externalTrafficPolicy Cluster',
    input: bare({ clusterIP: '10.96.0.10', externalIPs: ['203.0.113.20'], ports: [] }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        externalIPs: ['203.0.113.20'], sessionAffinity: 'None', internalTrafficPolicy: 'Cluster', externalTrafficPolicy: 'Cluster', ports: [],
      },
    },
  },
  {
    name: 'ClientIP affinity without a timeout: 10800 s',
    input: bare({ clusterIP: '10.96.0.10', sessionAffinity: 'ClientIP', sessionAffinityConfig: {} }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
        sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } }, internalTrafficPolicy: 'Cluster',
      },
    },
  },
  {
    name: 'dual-stack from clusterIPs alone: clusterIP, ipFamilies in order, RequireDualStack',
    input: bare({ clusterIPs: ['fd00:10:96::10', '10.96.0.10'] }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: {
        type: 'ClusterIP', clusterIP: 'fd00:10:96::10', clusterIPs: ['fd00:10:96::10', '10.96.0.10'], ipFamilies: ['IPv6', 'IPv4'],
        ipFamilyPolicy: 'RequireDualStack', sessionAffinity: 'None', internalTrafficPolicy: 'Cluster',
      },
    },
  },
  {
    name: 'ExternalName: no traffic policies, no cluster IP fields',
    input: bare({ type: 'ExternalName', externalName: 'db.example.com' }),
    expected: {
      metadata: { name: 'web', namespace: 'default' },
      spec: { type: 'ExternalName', externalName: 'db.example.com', sessionAffinity: 'None' },
    },
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const before = structuredClone(c.input);
    const out = defaultService(c.input);
    t.deepEqual(out, c.expected);
    t.deepEqual(c.input, before, 'the input is not mutated');
    t.deepEqual(defaultService(out), out, 'defaulting twice changes nothing');
  });
}

test('EndpointSlice ports: nil name is the unnamed port "", nil protocol is TCP', (t) => {
  const input: V1EndpointSlice = {
    metadata: { name: 'web-1' }, addressType: 'IPv4', endpoints: [], ports: [{ port: 8080 }, { name: 'dns', port: 53, protocol: 'UDP' }],
  };
  const out = defaultEndpointSlice(input);
  t.deepEqual(out, {
    metadata: { name: 'web-1', namespace: 'default' }, addressType: 'IPv4', endpoints: [],
    ports: [{ name: '', port: 8080, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }],
  });
  t.deepEqual(defaultEndpointSlice(out), out);
});

test('EndpointSlice without endpoints gets an empty list', (t) => {
  t.deepEqual(defaultEndpointSlice({ metadata: { name: 's', namespace: 'x' }, addressType: 'IPv4' } as V1EndpointSlice).endpoints, []);
});

test('an object already defaulted comes back as itself, not a copy (sources default every object they receive)', (t) => {
  for (const c of cases) t.is(defaultService(c.expected), c.expected, c.name);
  const slice: V1EndpointSlice = {
    metadata: { name: 'web-1', namespace: 'default' }, addressType: 'IPv4', endpoints: [], ports: [{ name: '', port: 8080, protocol: 'TCP' }],
  };
  t.is(defaultEndpointSlice(slice), slice);
});

test('a copy is made only when something is defaulted, and only of what changes', (t) => {
  const ports = [{ port: 80, protocol: 'TCP', targetPort: 8080 }];
  const svc: V1Service = { metadata: { name: 'web', namespace: 'shop' }, spec: { clusterIP: '10.96.0.10', ports } };
  const out = defaultService(svc);
  t.not(out, svc);
  t.is(out.metadata, svc.metadata);
  t.is(out.spec?.ports, ports, 'the ports needed nothing');
});
