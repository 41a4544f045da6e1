/**
 * Endpoint conditions and the EndpointSlice cache (kube-proxy's
 * endpointslicecache + CategorizeEndpoints for Cluster policy): nil ready is
 * ready, nil serving is serving, serving-terminating endpoints only when no
 * ready endpoint exists anywhere, one entry per address:port across slices.
 */
import test from 'ava';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { planLines, slice, state, svc, type EpSpec } from '../fixtures/plan-builders.js';

const web = svc('web', { clusterIP: '10.96.0.10' });
const FE = 'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster ->';

interface Case { name: string; slices: V1EndpointSlice[]; expected: string }

const one = (endpoints: EpSpec[]) => [slice('web-1', { service: 'web', endpoints })];

const cases: Case[] = [
  {
    name: 'no conditions at all: nil ready means ready',
    slices: one([{ ip: '198.18.1.5', node: 'node-a' }]),
    expected: `${FE} 198.18.1.5:8080@node-a`,
  },
  {
    name: 'a not-ready endpoint is left out while a ready one exists',
    slices: one([{ ip: '198.18.1.5', node: 'node-a', ready: false }, { ip: '198.18.1.6', node: 'node-b', ready: true }]),
    expected: `${FE} 198.18.1.6:8080@node-b`,
  },
  {
    name: 'ready endpoints win over serving-terminating ones',
    slices: one([
      { ip: '198.18.1.5', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '198.18.1.6', node: 'node-b' },
    ]),
    expected: `${FE} 198.18.1.6:8080@node-b`,
  },
  {
    name: 'no ready endpoint anywhere: fall back to the serving-terminating ones (not to non-serving ones)',
    slices: one([
      { ip: '198.18.1.5', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '198.18.1.6', node: 'node-b', ready: false, serving: false, terminating: true },
      { ip: '198.18.1.7', node: 'node-b', ready: false, serving: true, terminating: true },
    ]),
    expected: `${FE} 198.18.1.5:8080@node-a~, 198.18.1.7:8080@node-b~`,
  },
  {
    name: 'nil serving means serving: a terminating endpoint without serving is a fallback candidate',
    slices: one([{ ip: '198.18.1.5', node: 'node-a', ready: false, terminating: true }]),
    expected: `${FE} 198.18.1.5:8080@node-a~`,
  },
  {
    name: 'not ready and not terminating (starting up) is never used: reject',
    slices: one([{ ip: '198.18.1.5', node: 'node-a', ready: false }, { ip: '198.18.1.6', node: 'node-a', ready: false, serving: false }]),
    expected: `${FE} reject`,
  },
  {
    name: 'no EndpointSlice at all: reject',
    slices: [],
    expected: `${FE} reject`,
  },
  {
    name: 'an empty EndpointSlice: reject',
    slices: one([]),
    expected: `${FE} reject`,
  },
  {
    name: 'the same address:port in two slices is one backend, the non-terminating copy wins',
    slices: [
      slice('web-a', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a', ready: false, serving: true, terminating: true }] }),
      slice('web-b', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.1.6', node: 'node-b' }] }),
      slice('web-c', { service: 'web', endpoints: [{ ip: '198.18.1.6', node: 'node-b' }] }),
    ],
    expected: `${FE} 198.18.1.5:8080@node-a, 198.18.1.6:8080@node-b`,
  },
  {
    name: 'the non-terminating copy wins whichever slice comes first',
    slices: [
      slice('web-a', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }),
      slice('web-b', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a', ready: false, serving: true, terminating: true }] }),
    ],
    expected: `${FE} 198.18.1.5:8080@node-a`,
  },
  {
    name: 'the same address on two different ports (a targetPort change mid-rollout) is two backends',
    slices: [
      slice('web-a', { service: 'web', ports: [{ name: 'http', port: 8080 }], endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }),
      slice('web-b', { service: 'web', ports: [{ name: 'http', port: 8081 }], endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }),
    ],
    expected: `${FE} 198.18.1.5:8080@node-a, 198.18.1.5:8081@node-a`,
  },
  {
    name: 'IPv6 and FQDN slices are not used by the IPv4 plan',
    slices: [
      slice('web-v6', { service: 'web', addressType: 'IPv6', endpoints: [{ ip: '2001:db8::5', node: 'node-a' }] }),
      slice('web-fqdn', { service: 'web', addressType: 'FQDN', endpoints: [{ ip: 'pod.example.com', node: 'node-a' }] }),
      slice('web-v4', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }),
    ],
    expected: `${FE} 198.18.1.5:8080@node-a`,
  },
  {
    name: 'only an endpoint\'s first address is used',
    slices: one([{ ip: ['198.18.1.5', '198.18.1.99'], node: 'node-a' }]),
    expected: `${FE} 198.18.1.5:8080@node-a`,
  },
  {
    name: 'a slice port without a port number is unusable',
    slices: [slice('web-1', { service: 'web', ports: [{ name: 'http' }], endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })],
    expected: `${FE} reject`,
  },
  {
    name: 'an endpoint without nodeName is a backend with nodeName null',
    slices: one([{ ip: '198.18.1.5' }]),
    expected: `${FE} 198.18.1.5:8080@?`,
  },
  {
    name: 'backends are sorted numerically by address, then port',
    slices: one([{ ip: '198.18.1.10', node: 'node-b' }, { ip: '198.18.1.9', node: 'node-a' }, { ip: '10.0.0.1', node: 'node-c' }]),
    expected: `${FE} 10.0.0.1:8080@node-c, 198.18.1.9:8080@node-a, 198.18.1.10:8080@node-b`,
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    t.deepEqual(planLines(state({ services: [web], slices: c.slices })), [c.expected]);
  });
}
