/**
 * externalTrafficPolicy and internalTrafficPolicy (kube-proxy CategorizeEndpoints
 * and syncProxyRules): each applies only to its own frontends; Local uses this
 * node's endpoints, falling back to its serving-terminating ones; "drop" when
 * this node has none but others do, "reject" when there is none anywhere.
 */
import test from 'ava';
import type { V1ServiceSpec } from '@kubernetes/client-node';
import { planLines, slice, state, svc, type EpSpec } from '../fixtures/plan-builders.js';

const LB: V1ServiceSpec = {
  type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['203.0.113.20'],
  ports: [{ name: 'http', port: 80, nodePort: 30080 }],
};
const lbStatus = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } };

const LOCAL_A: EpSpec = { ip: '198.18.1.5', node: 'node-a' };
const REMOTE_B: EpSpec = { ip: '198.18.2.7', node: 'node-b' };
const TERMINATING_A: EpSpec = { ip: '198.18.1.6', node: 'node-a', ready: false, serving: true, terminating: true };
const NOT_READY_A: EpSpec = { ip: '198.18.1.8', node: 'node-a', ready: false };

/** The four frontends of the LB Service, in plan order. */
function lbLines(internal: string, external: string): string[] {
  return [
    `default/web:http ClusterIP 10.96.0.10:80/TCP ${internal}`,
    `default/web:http NodePort 198.51.100.1:30080/TCP ${external}`,
    `default/web:http LoadBalancer 203.0.113.10:80/TCP ${external}`,
    `default/web:http ExternalIP 203.0.113.20:80/TCP ${external}`,
  ];
}

interface Case { name: string; spec: V1ServiceSpec; endpoints: EpSpec[]; expected: string[] }

const cases: Case[] = [
  {
    name: 'ETP Cluster, ITP Cluster: every frontend uses every ready endpoint',
    spec: LB,
    endpoints: [LOCAL_A, REMOTE_B],
    expected: lbLines('Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b', 'Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b'),
  },
  {
    name: 'ETP Local: NodePort, LoadBalancer and external IPs use local endpoints; the cluster IP still uses all',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: lbLines('Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b', 'Local -> 198.18.1.5:8080@node-a'),
  },
  {
    name: 'ETP Local with no endpoint on this node but some elsewhere: external frontends drop',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [REMOTE_B],
    expected: lbLines('Cluster -> 198.18.2.7:8080@node-b', 'Local -> drop'),
  },
  {
    name: 'ETP Local with no usable endpoint anywhere: every frontend rejects',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [NOT_READY_A],
    expected: lbLines('Cluster -> reject', 'Local -> reject'),
  },
  {
    name: 'ETP Local: a local not-ready endpoint does not count, drop',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [NOT_READY_A, REMOTE_B],
    expected: lbLines('Cluster -> 198.18.2.7:8080@node-b', 'Local -> drop'),
  },
  {
    name: 'ETP Local: only serving-terminating here, ready elsewhere: Local falls back to the local terminating one, Cluster uses the ready one',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [TERMINATING_A, REMOTE_B],
    expected: lbLines('Cluster -> 198.18.2.7:8080@node-b', 'Local -> 198.18.1.6:8080@node-a~'),
  },
  {
    name: 'ETP Local: a local ready endpoint wins over a local terminating one',
    spec: { ...LB, externalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, TERMINATING_A, REMOTE_B],
    expected: lbLines('Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b', 'Local -> 198.18.1.5:8080@node-a'),
  },
  {
    name: 'ITP Local: only the cluster IP uses local endpoints; external frontends stay Cluster',
    spec: { ...LB, internalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: lbLines('Local -> 198.18.1.5:8080@node-a', 'Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b'),
  },
  {
    name: 'ITP Local with no endpoint on this node but some elsewhere: the cluster IP drops, external frontends do not',
    spec: { ...LB, internalTrafficPolicy: 'Local' },
    endpoints: [REMOTE_B],
    expected: lbLines('Local -> drop', 'Cluster -> 198.18.2.7:8080@node-b'),
  },
  {
    name: 'ITP Local and ETP Local: every frontend is Local',
    spec: { ...LB, internalTrafficPolicy: 'Local', externalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: lbLines('Local -> 198.18.1.5:8080@node-a', 'Local -> 198.18.1.5:8080@node-a'),
  },
  {
    name: 'ITP Local on a ClusterIP-only Service: local endpoints',
    spec: { clusterIP: '10.96.0.10', internalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Local -> 198.18.1.5:8080@node-a'],
  },
  {
    name: 'ITP Local on a ClusterIP-only Service, only a terminating endpoint here: it is used although others are ready',
    spec: { clusterIP: '10.96.0.10', internalTrafficPolicy: 'Local' },
    endpoints: [TERMINATING_A, REMOTE_B],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Local -> 198.18.1.6:8080@node-a~'],
  },
  {
    name: 'ITP Local on a ClusterIP-only Service, serving-terminating endpoints elsewhere only: drop (they count as usable)',
    spec: { clusterIP: '10.96.0.10', internalTrafficPolicy: 'Local' },
    endpoints: [{ ...REMOTE_B, ready: false, serving: true, terminating: true }],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Local -> drop'],
  },
  {
    name: 'ITP Local on a ClusterIP-only Service with no endpoints at all: reject',
    spec: { clusterIP: '10.96.0.10', internalTrafficPolicy: 'Local' },
    endpoints: [],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Local -> reject'],
  },
  {
    name: 'ETP Local on a ClusterIP Service with external IPs: the external IPs are Local',
    spec: { clusterIP: '10.96.0.10', externalIPs: ['203.0.113.20'], externalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b',
      'default/web:http ExternalIP 203.0.113.20:80/TCP Local -> 198.18.1.5:8080@node-a',
    ],
  },
  {
    name: 'ETP Local without any external frontend changes nothing (not externally accessible)',
    spec: { clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local' },
    endpoints: [LOCAL_A, REMOTE_B],
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b'],
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const services = [svc('web', c.spec, c.spec.type === 'LoadBalancer' ? { status: lbStatus } : {})];
    const slices = [slice('web-1', { service: 'web', endpoints: c.endpoints })];
    t.deepEqual(planLines(state({ services, slices })), c.expected);
  });
}
