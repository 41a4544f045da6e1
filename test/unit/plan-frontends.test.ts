/**
 * Which frontends a Service gets (kube-proxy's servicechangetracker/serviceport):
 * ClusterIP, NodePort per node address, LoadBalancer ingress VIPs, external IPs;
 * which Services are not proxied; how Service ports find their endpoints.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { PlanNode } from '../../src/plan/index.js';
import { NODE_A, planLines, slice, state, svc } from '../fixtures/plan-builders.js';

const web = slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.2.7', node: 'node-b' }] });
const BOTH = '198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b';

interface Case { name: string; services: V1Service[]; slices?: V1EndpointSlice[]; node?: PlanNode; expected: string[] }

const cases: Case[] = [
  {
    name: 'ClusterIP: one frontend on the cluster IP and service port',
    services: [svc('web', { clusterIP: '10.96.0.10' })],
    slices: [web],
    expected: [`default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`],
  },
  {
    name: 'NodePort: the cluster IP plus the node port on every node address of the family',
    services: [svc('web', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
    slices: [web],
    node: { name: 'node-a', addresses: ['198.51.100.1', '198.51.100.11', '2001:db8::1'] },
    expected: [
      `default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`,
      `default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> ${BOTH}`,
      `default/web:http NodePort 198.51.100.11:30080/TCP Cluster -> ${BOTH}`,
    ],
  },
  {
    name: 'NodePort: no node address given, no NodePort frontend',
    services: [svc('web', { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] })],
    slices: [web],
    node: { name: 'node-a', addresses: [] },
    expected: [`default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`],
  },
  {
    name: 'LoadBalancer: ingress IPs with ipMode VIP or unset; Proxy-mode and hostname-only ingress skipped',
    services: [svc('web', { type: 'LoadBalancer', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }, {
      status: { loadBalancer: { ingress: [
        { ip: '203.0.113.10' }, { ip: '203.0.113.11', ipMode: 'VIP' }, { ip: '203.0.113.12', ipMode: 'Proxy' }, { hostname: 'lb.example.com' },
      ] } },
    })],
    slices: [web],
    expected: [
      `default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`,
      `default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> ${BOTH}`,
      `default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster -> ${BOTH}`,
      `default/web:http LoadBalancer 203.0.113.11:80/TCP Cluster -> ${BOTH}`,
    ],
  },
  {
    name: 'LoadBalancer with allocateLoadBalancerNodePorts false: no NodePort frontend',
    services: [svc('web', { type: 'LoadBalancer', clusterIP: '10.96.0.10', allocateLoadBalancerNodePorts: false }, {
      status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } },
    })],
    slices: [web],
    expected: [
      `default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`,
      `default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster -> ${BOTH}`,
    ],
  },
  {
    name: 'externalIPs: one frontend each on the service port (duplicates once)',
    services: [svc('web', { clusterIP: '10.96.0.10', externalIPs: ['203.0.113.20', '203.0.113.21', '203.0.113.20'] })],
    slices: [web],
    expected: [
      `default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`,
      `default/web:http ExternalIP 203.0.113.20:80/TCP Cluster -> ${BOTH}`,
      `default/web:http ExternalIP 203.0.113.21:80/TCP Cluster -> ${BOTH}`,
    ],
  },
  {
    name: 'headless (clusterIP None) is skipped',
    services: [svc('web', { clusterIP: 'None' })],
    slices: [web],
    expected: [],
  },
  {
    name: 'a Service without a cluster IP is skipped',
    services: [svc('web', {})],
    slices: [web],
    expected: [],
  },
  {
    name: 'ExternalName is skipped even with a cluster IP set',
    services: [svc('web', { type: 'ExternalName', externalName: 'db.example.com', clusterIP: '10.96.0.10' })],
    slices: [web],
    expected: [],
  },
  {
    name: 'service.kubernetes.io/service-proxy-name: another proxy owns it',
    services: [svc('web', { clusterIP: '10.96.0.10' }, { labels: { 'service.kubernetes.io/service-proxy-name': 'other' } })],
    slices: [web],
    expected: [],
  },
  {
    name: 'ports are matched to EndpointSlice ports by name and protocol, not by number',
    services: [svc('dns', {
      clusterIP: '10.96.0.53',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'metrics', port: 9153 }],
    })],
    slices: [slice('dns-1', {
      service: 'dns',
      ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354, protocol: 'TCP' }, { name: 'metrics', port: 9153, protocol: 'UDP' }],
      endpoints: [{ ip: '198.18.1.53', node: 'node-a' }],
    })],
    expected: [
      'default/dns:dns ClusterIP 10.96.0.53:53/UDP Cluster -> 198.18.1.53:5353@node-a',
      'default/dns:dns-tcp ClusterIP 10.96.0.53:53/TCP Cluster -> 198.18.1.53:5354@node-a',
      // The slice's "metrics" port is UDP; the Service's is TCP: no endpoints.
      'default/dns:metrics ClusterIP 10.96.0.53:9153/TCP Cluster -> reject',
    ],
  },
  {
    name: 'an unnamed Service port matches the unnamed slice port (name defaulted to "")',
    services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ port: 80 }] })],
    slices: [slice('web-1', { service: 'web', ports: [{ port: 8080 }], endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })],
    expected: ['default/web: ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a'],
  },
  {
    name: 'the endpoint port comes from the slice, never from targetPort',
    services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 9999 }] })],
    slices: [web],
    expected: [`default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> ${BOTH}`],
  },
  {
    name: 'slices of another namespace, without the service-name label, or labelled for another proxy are not used',
    services: [svc('web', { clusterIP: '10.96.0.10' })],
    slices: [
      slice('web-other-ns', { service: 'web', namespace: 'shop', endpoints: [{ ip: '198.18.1.6', node: 'node-a' }] }),
      { ...slice('web-nolabel', { service: 'web', endpoints: [{ ip: '198.18.1.7', node: 'node-a' }] }), metadata: { name: 'web-nolabel', namespace: 'default' } },
      slice('web-proxied', { service: 'web', labels: { 'service.kubernetes.io/service-proxy-name': 'other' }, endpoints: [{ ip: '198.18.1.8', node: 'node-a' }] }),
      slice('web-headless', { service: 'web', labels: { 'service.kubernetes.io/headless': '' }, endpoints: [{ ip: '198.18.1.9', node: 'node-a' }] }),
    ],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> reject'],
  },
  {
    name: 'SCTP ports are planned like TCP and UDP',
    services: [svc('sig', { clusterIP: '10.96.0.40', ports: [{ name: 'sig', port: 3868, protocol: 'SCTP' }] })],
    slices: [slice('sig-1', { service: 'sig', ports: [{ name: 'sig', port: 3868, protocol: 'SCTP' }], endpoints: [{ ip: '198.18.1.40', node: 'node-b' }] })],
    expected: ['default/sig:sig ClusterIP 10.96.0.40:3868/SCTP Cluster -> 198.18.1.40:3868@node-b'],
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    t.deepEqual(planLines(state({ services: c.services, slices: c.slices ?? [] }), c.node ?? NODE_A), c.expected);
  });
}
