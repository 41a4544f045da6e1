/**
 * Topology-aware routing (kube-proxy topology.go, 1.33+): Cluster-policy
 * endpoints are narrowed to this node's zone (hints.forZones) or this node
 * (hints.forNodes) only when every ready endpoint carries such a hint and at
 * least one names this zone/node; otherwise all endpoints are used. Local
 * policy ignores hints.
 */
import test from 'ava';
import type { V1ServiceSpec } from '@kubernetes/client-node';
import type { PlanNode, PlanOptions } from '../../src/plan/index.js';
import { planLines, slice, state, svc, type EpSpec } from '../fixtures/plan-builders.js';

const NODE: PlanNode = { name: 'node-a', addresses: ['198.51.100.1'], zone: 'zone-a' };
const A: EpSpec = { ip: '198.18.1.5', node: 'node-a', zones: ['zone-a'] };
const A2: EpSpec = { ip: '198.18.1.6', node: 'node-x', zones: ['zone-a'] };
const B: EpSpec = { ip: '198.18.2.5', node: 'node-b', zones: ['zone-b'] };
const C: EpSpec = { ip: '198.18.3.5', node: 'node-c', zones: ['zone-c'] };
const ALL = '198.18.1.5:8080@node-a, 198.18.2.5:8080@node-b, 198.18.3.5:8080@node-c';

interface Case {
  name: string;
  endpoints: EpSpec[];
  node?: PlanNode;
  options?: PlanOptions;
  spec?: V1ServiceSpec;
  expected: string[];
}

const CIP = 'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster ->';

const cases: Case[] = [
  {
    name: 'every endpoint hinted and one for this zone: only this zone\'s endpoints',
    endpoints: [A, A2, B, C],
    expected: [`${CIP} 198.18.1.5:8080@node-a, 198.18.1.6:8080@node-x`],
  },
  {
    name: 'an endpoint hinted for several zones serves each of them',
    endpoints: [{ ...B, zones: ['zone-b', 'zone-a'] }, C],
    expected: [`${CIP} 198.18.2.5:8080@node-b`],
  },
  {
    name: 'the node has no zone: hints are ignored',
    endpoints: [A, B, C],
    node: { name: 'node-a', addresses: ['198.51.100.1'] },
    expected: [`${CIP} ${ALL}`],
  },
  {
    name: 'the zone comes from the node\'s topology.kubernetes.io/zone label when not given',
    endpoints: [A, B, C],
    node: { name: 'node-a', addresses: ['198.51.100.1'], labels: { 'topology.kubernetes.io/zone': 'zone-b' } },
    expected: [`${CIP} 198.18.2.5:8080@node-b`],
  },
  {
    name: 'one ready endpoint without a hint: hints are ignored',
    endpoints: [A, B, { ...C, zones: undefined }],
    expected: [`${CIP} ${ALL}`],
  },
  {
    name: 'a not-ready endpoint without a hint does not disable hints',
    endpoints: [A, B, { ip: '198.18.3.6', node: 'node-c', ready: false }],
    expected: [`${CIP} 198.18.1.5:8080@node-a`],
  },
  {
    name: 'no endpoint hinted for this zone: fall back to all endpoints',
    endpoints: [B, C],
    expected: [`${CIP} 198.18.2.5:8080@node-b, 198.18.3.5:8080@node-c`],
  },
  {
    name: 'this zone\'s only hinted endpoint is not ready: fall back to all ready endpoints',
    endpoints: [{ ...A, ready: false }, B, C],
    expected: [`${CIP} 198.18.2.5:8080@node-b, 198.18.3.5:8080@node-c`],
  },
  {
    name: 'no ready endpoint: hints play no part in the serving-terminating fallback',
    endpoints: [{ ...B, ready: false, terminating: true }, { ...C, ready: false, terminating: true }],
    expected: [`${CIP} 198.18.2.5:8080@node-b~, 198.18.3.5:8080@node-c~`],
  },
  {
    name: 'node hints (PreferSameNode) win over zone hints when every endpoint has one and one names this node',
    endpoints: [{ ...A, nodes: ['node-a'] }, { ...A2, nodes: ['node-x'] }, { ...B, nodes: ['node-b'] }],
    expected: [`${CIP} 198.18.1.5:8080@node-a`],
  },
  {
    name: 'node hints naming other nodes only: zone hints apply',
    endpoints: [{ ...A2, nodes: ['node-x'] }, { ...B, nodes: ['node-b'] }],
    expected: [`${CIP} 198.18.1.6:8080@node-x`],
  },
  {
    name: 'node hints off (PreferSameTrafficDistribution gate disabled): zone hints apply',
    endpoints: [{ ...A, nodes: ['node-a'] }, { ...A2, nodes: ['node-x'] }, { ...B, nodes: ['node-b'] }],
    options: { preferSameNodeHints: false },
    expected: [`${CIP} 198.18.1.5:8080@node-a, 198.18.1.6:8080@node-x`],
  },
  {
    name: 'external Cluster-policy frontends are narrowed too; Local-policy ones ignore hints',
    spec: { type: 'NodePort', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] },
    // This node's endpoint is hinted for another zone: Local still uses it.
    endpoints: [{ ...A, zones: ['zone-b'] }, A2, B],
    expected: [
      `${CIP} 198.18.1.6:8080@node-x`,
      'default/web:http NodePort 198.51.100.1:30080/TCP Local -> 198.18.1.5:8080@node-a',
    ],
  },
  {
    name: 'ETP Cluster NodePort frontends follow the same zone',
    spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, nodePort: 30080 }] },
    endpoints: [A, B, C],
    expected: [`${CIP} 198.18.1.5:8080@node-a`, 'default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> 198.18.1.5:8080@node-a'],
  },
  {
    name: 'hints are used whatever the Service says (kube-proxy no longer reads the annotation)',
    spec: { clusterIP: '10.96.0.10', trafficDistribution: 'PreferClose' },
    endpoints: [A, B, C],
    expected: [`${CIP} 198.18.1.5:8080@node-a`],
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const services = [svc('web', c.spec ?? { clusterIP: '10.96.0.10' })];
    const slices = [slice('web-1', { service: 'web', endpoints: c.endpoints })];
    t.deepEqual(planLines(state({ services, slices }), c.node ?? NODE, c.options ?? {}), c.expected);
  });
}
