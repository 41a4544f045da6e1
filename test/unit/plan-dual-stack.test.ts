/**
 * Dual-stack: the plan covers the families of this node's addresses (one pass
 * per family, like kube-proxy's one proxier per family). In each family a
 * Service needs a cluster IP of that family; its external IPs, ingress IPs,
 * source ranges and endpoints of the other family are ignored there.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { PlanNode, PlanOptions } from '../../src/plan/index.js';
import { planLines, slice, state, svc } from '../fixtures/plan-builders.js';

const V4_ONLY: PlanNode = { name: 'node-a', addresses: ['198.51.100.1'] };
const DUAL: PlanNode = { name: 'node-a', addresses: ['198.51.100.1', '2001:db8:100::1'] };
const V6_ONLY: PlanNode = { name: 'node-a', addresses: ['2001:db8:100::1'] };

const dualSvc = svc('web', {
  type: 'NodePort', ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'],
  clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10', 'fd00:10:96::10'],
  ports: [{ name: 'http', port: 80, nodePort: 30080 }],
});
const slices: V1EndpointSlice[] = [
  slice('web-v4', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }),
  slice('web-v6', { service: 'web', addressType: 'IPv6', endpoints: [{ ip: 'fd00:18:1:0:0:0:0:5', node: 'node-a' }] }),
];

interface Case { name: string; services: V1Service[]; node: PlanNode; options?: PlanOptions; expected: string[] }

const cases: Case[] = [
  {
    name: 'an IPv4 node plans only the IPv4 half of a dual-stack Service',
    services: [dualSvc],
    node: V4_ONLY,
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> 198.18.1.5:8080@node-a',
    ],
  },
  {
    name: 'a dual-stack node plans both; each family uses its own slices; IPv6 in canonical form',
    services: [dualSvc],
    node: DUAL,
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http ClusterIP [fd00:10:96::10]:80/TCP Cluster -> [fd00:18:1::5]:8080@node-a',
      'default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http NodePort [2001:db8:100::1]:30080/TCP Cluster -> [fd00:18:1::5]:8080@node-a',
    ],
  },
  {
    name: 'ipFamilies given explicitly narrow a dual-stack node to IPv4 (this build programs IPv4 only)',
    services: [dualSvc],
    node: DUAL,
    options: { ipFamilies: ['IPv4'] },
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> 198.18.1.5:8080@node-a',
    ],
  },
  {
    name: 'an IPv6-only Service on an IPv4 node: nothing',
    services: [svc('web', { clusterIP: 'fd00:10:96::10' })],
    node: V4_ONLY,
    expected: [],
  },
  {
    name: 'an IPv6-only node plans the IPv6 Service (no ipFamilies: family from the cluster IP)',
    services: [{ ...svc('web', { clusterIP: 'FD00:10:96:0::10' }) }],
    node: V6_ONLY,
    expected: ['default/web:http ClusterIP [fd00:10:96::10]:80/TCP Cluster -> [fd00:18:1::5]:8080@node-a'],
  },
  {
    name: 'a single-stack IPv4 Service ignores its IPv6 external IP, ingress IP and source ranges even on a dual-stack node',
    services: [svc('web', {
      type: 'LoadBalancer', clusterIP: '10.96.0.10', allocateLoadBalancerNodePorts: false,
      externalIPs: ['2001:db8::20', '203.0.113.20'], loadBalancerSourceRanges: ['2001:db8::/32'],
    }, { status: { loadBalancer: { ingress: [{ ip: '2001:db8::10' }, { ip: '203.0.113.10' }] } } })],
    node: DUAL,
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http ExternalIP 203.0.113.20:80/TCP Cluster -> 198.18.1.5:8080@node-a',
    ],
  },
  {
    name: 'a dual-stack LoadBalancer: ingress IPs and source ranges split by family',
    services: [svc('web', {
      type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, ipFamilies: ['IPv6', 'IPv4'],
      clusterIPs: ['fd00:10:96::10', '10.96.0.10'], loadBalancerSourceRanges: ['2001:db8::/32', '198.51.100.0/24'],
    }, { status: { loadBalancer: { ingress: [{ ip: '2001:db8::10' }, { ip: '203.0.113.10' }] } } })],
    node: DUAL,
    expected: [
      'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
      'default/web:http ClusterIP [fd00:10:96::10]:80/TCP Cluster -> [fd00:18:1::5]:8080@node-a',
      'default/web:http LoadBalancer 203.0.113.10:80/TCP Cluster -> 198.18.1.5:8080@node-a [from=198.51.100.0/24]',
      'default/web:http LoadBalancer [2001:db8::10]:80/TCP Cluster -> [fd00:18:1::5]:8080@node-a [from=2001:db8::/32]',
    ],
  },
  {
    name: 'no node address: IPv4 only',
    services: [dualSvc],
    node: { name: 'node-a', addresses: [] },
    expected: ['default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a'],
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    t.deepEqual(planLines(state({ services: c.services, slices }), c.node, c.options ?? {}), c.expected);
  });
}
