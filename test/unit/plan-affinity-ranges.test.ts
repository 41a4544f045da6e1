/**
 * Session affinity timeouts and loadBalancerSourceRanges: affinity applies to
 * every frontend of the Service; source ranges only to LoadBalancer frontends,
 * only those of the frontend's family, trimmed and canonical.
 */
import test from 'ava';
import type { V1ServiceSpec } from '@kubernetes/client-node';
import { planLines, slice, state, svc } from '../fixtures/plan-builders.js';

const LB: V1ServiceSpec = {
  type: 'LoadBalancer', clusterIP: '10.96.0.10', externalIPs: ['203.0.113.20'], ports: [{ name: 'http', port: 80, nodePort: 30080 }],
};
const status = { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } };
const B = '-> 198.18.1.5:8080@node-a';

function lbLines(internalExtra: string, lbExtra: string, otherExtra = internalExtra): string[] {
  return [
    `default/web:http ClusterIP 10.96.0.10:80/TCP Cluster ${B}${internalExtra}`,
    `default/web:http NodePort 198.51.100.1:30080/TCP Cluster ${B}${otherExtra}`,
    `default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster ${B}${lbExtra}`,
    `default/web:http ExternalIP 203.0.113.20:80/TCP Cluster ${B}${otherExtra}`,
  ];
}

interface Case { name: string; spec: V1ServiceSpec; expected: string[] }

const cases: Case[] = [
  {
    name: 'no affinity, no source ranges: both null everywhere',
    spec: LB,
    expected: lbLines('', ''),
  },
  {
    name: 'ClientIP affinity without a timeout: the API default 10800 s on every frontend',
    spec: { ...LB, sessionAffinity: 'ClientIP' },
    expected: lbLines(' [affinity=10800]', ' [affinity=10800]'),
  },
  {
    name: 'ClientIP affinity with an explicit timeout',
    spec: { ...LB, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
    expected: lbLines(' [affinity=60]', ' [affinity=60]'),
  },
  {
    name: 'affinity None ignores a leftover sessionAffinityConfig',
    spec: { ...LB, sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } },
    expected: lbLines('', ''),
  },
  {
    name: 'source ranges apply to LoadBalancer frontends only (not NodePort, not external IPs), canonical and sorted',
    spec: { ...LB, loadBalancerSourceRanges: [' 198.51.100.0/24', '10.1.2.3/8', '10.0.0.0/8', '192.0.2.7/32 '] },
    expected: lbLines('', ' [from=10.0.0.0/8,192.0.2.7/32,198.51.100.0/24]'),
  },
  {
    name: 'source ranges of the other family do not filter this family',
    spec: { ...LB, loadBalancerSourceRanges: ['2001:db8::/32'] },
    expected: lbLines('', ''),
  },
  {
    name: 'affinity and source ranges together',
    spec: { ...LB, sessionAffinity: 'ClientIP', loadBalancerSourceRanges: ['203.0.113.0/24', '2001:db8::/32'] },
    expected: lbLines(' [affinity=10800]', ' [affinity=10800 from=203.0.113.0/24]'),
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    const slices = [slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })];
    t.deepEqual(planLines(state({ services: [svc('web', c.spec, { status })], slices })), c.expected);
  });
}
