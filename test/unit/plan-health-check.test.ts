/**
 * healthCheckNodePorts (kube-proxy NeedsHealthCheck + LocalReadyEndpoints):
 * only LoadBalancer Services with externalTrafficPolicy Local and an allocated
 * healthCheckNodePort; the count is this node's distinct ready endpoint IPs.
 */
import test from 'ava';
import type { V1EndpointSlice, V1ServiceSpec } from '@kubernetes/client-node';
import { buildPlan, buildPlanReport, type HealthCheckNodePort } from '../../src/plan/index.js';
import { NODE_A, slice, state, svc, type EpSpec } from '../fixtures/plan-builders.js';

const LOCAL_LB: V1ServiceSpec = {
  type: 'LoadBalancer', clusterIP: '10.96.0.10', externalTrafficPolicy: 'Local', healthCheckNodePort: 30123,
  ports: [{ name: 'http', port: 80, nodePort: 30080 }, { name: 'https', port: 443, nodePort: 30443 }],
};
const TWO_PORTS = [{ name: 'http', port: 8080 }, { name: 'https', port: 8443 }];
const slice1 = (endpoints: EpSpec[], ports = TWO_PORTS): V1EndpointSlice => slice('web-1', { service: 'web', ports, endpoints });

interface Case { name: string; spec: V1ServiceSpec; slices: V1EndpointSlice[]; expected: HealthCheckNodePort[] }

const cases: Case[] = [
  {
    name: 'one local ready pod serving two ports counts once',
    spec: LOCAL_LB,
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.2.5', node: 'node-b' }])],
    expected: [{ service: 'default/web', port: 30123, localReadyEndpoints: 1 }],
  },
  {
    name: 'several local ready endpoints, across slices, each counted once',
    spec: LOCAL_LB,
    slices: [
      slice('web-1', { service: 'web', ports: TWO_PORTS, endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.1.6', node: 'node-a' }] }),
      slice('web-2', { service: 'web', ports: TWO_PORTS, endpoints: [{ ip: '198.18.1.6', node: 'node-a' }, { ip: '198.18.1.7', node: 'node-a' }] }),
    ],
    expected: [{ service: 'default/web', port: 30123, localReadyEndpoints: 3 }],
  },
  {
    name: 'terminating and not-ready local endpoints do not count (the node fails the check while draining)',
    spec: LOCAL_LB,
    slices: [slice1([
      { ip: '198.18.1.5', node: 'node-a', ready: false, serving: true, terminating: true },
      { ip: '198.18.1.6', node: 'node-a', ready: false },
      { ip: '198.18.2.5', node: 'node-b' },
    ])],
    expected: [{ service: 'default/web', port: 30123, localReadyEndpoints: 0 }],
  },
  {
    name: 'no endpoints at all: the port is still served, with 0',
    spec: LOCAL_LB,
    slices: [],
    expected: [{ service: 'default/web', port: 30123, localReadyEndpoints: 0 }],
  },
  {
    name: 'endpoints of a slice port the Service does not have still count',
    spec: LOCAL_LB,
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }], [{ name: 'metrics', port: 9090 }])],
    expected: [{ service: 'default/web', port: 30123, localReadyEndpoints: 1 }],
  },
  {
    name: 'externalTrafficPolicy Cluster: no health check',
    spec: { ...LOCAL_LB, externalTrafficPolicy: 'Cluster' },
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }])],
    expected: [],
  },
  {
    name: 'NodePort with externalTrafficPolicy Local: no health check (LoadBalancer only)',
    spec: { ...LOCAL_LB, type: 'NodePort' },
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }])],
    expected: [],
  },
  {
    name: 'no healthCheckNodePort allocated: none served',
    spec: { ...LOCAL_LB, healthCheckNodePort: undefined },
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }])],
    expected: [],
  },
  {
    name: 'a headless Service is not proxied, so no health check either',
    spec: { ...LOCAL_LB, clusterIP: 'None' },
    slices: [slice1([{ ip: '198.18.1.5', node: 'node-a' }])],
    expected: [],
  },
];

for (const c of cases) {
  test(c.name, (t) => {
    t.deepEqual(buildPlan(state({ services: [svc('web', c.spec)], slices: c.slices }), NODE_A).healthCheckNodePorts, c.expected);
  });
}

test('a Local LoadBalancer without healthCheckNodePort is reported', (t) => {
  const { warnings } = buildPlanReport(state({ services: [svc('web', { ...LOCAL_LB, healthCheckNodePort: undefined })] }), NODE_A);
  t.deepEqual(warnings, [{ service: 'default/web', message: 'externalTrafficPolicy Local without spec.healthCheckNodePort: no health check is served' }]);
});

test('two Services claiming one healthCheckNodePort: the first by name keeps it, the other is reported', (t) => {
  const services = [svc('b-web', LOCAL_LB), svc('a-web', { ...LOCAL_LB, clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, nodePort: 30081 }] })];
  const { plan, warnings } = buildPlanReport(state({ services }), NODE_A);
  t.deepEqual(plan.healthCheckNodePorts, [{ service: 'default/a-web', port: 30123, localReadyEndpoints: 0 }]);
  t.deepEqual(warnings, [{ service: 'default/b-web', message: 'healthCheckNodePort 30123 is already default/a-web\'s; left out' }]);
});
