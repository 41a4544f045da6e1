/**
 * PlanCache's invalidation rules, one per test: what a changed Service,
 * EndpointSlice or Node re-plans, what it reports as changed, and that the
 * report is always buildPlanReport's for the same state.
 */
import test, { type ExecutionContext } from 'ava';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { ClusterState } from '../../src/api/types.js';
import { DsrlbError } from '../../src/errors.js';
import { PlanCache, type PlanChanges, type PlanUpdate } from '../../src/plan/incremental.js';
import { buildPlanReport, resolvePlanNode, type PlanNode, type PlanReport } from '../../src/plan/index.js';
import { lines, NODE_A, node, slice, svc } from '../fixtures/plan-builders.js';

/** A ClusterState with ClusterStore's keys, and the keys each call touches. */
class World implements ClusterState {
  readonly services = new Map<string, V1Service>();
  readonly endpointSlices = new Map<string, V1EndpointSlice>();
  readonly nodes = new Map<string, V1Node>();
  private changed = { services: new Set<string>(), endpointSlices: new Set<string>(), nodes: new Set<string>() };

  put(...objs: (V1Service | V1EndpointSlice | V1Node)[]): this {
    for (const o of objs) {
      if ('addressType' in o) this.set('endpointSlices', key(o), o);
      else if ('spec' in o) this.set('services', key(o), o as V1Service);
      else this.set('nodes', o.metadata?.name ?? '', o as V1Node);
    }
    return this;
  }

  del(kind: 'services' | 'endpointSlices' | 'nodes', k: string): this {
    (this[kind] as Map<string, unknown>).delete(k);
    this.changed[kind].add(k);
    return this;
  }

  take(): PlanChanges {
    const c = this.changed;
    this.changed = { services: new Set(), endpointSlices: new Set(), nodes: new Set() };
    return c;
  }

  private set<T>(kind: 'services' | 'endpointSlices' | 'nodes', k: string, o: T): void {
    (this[kind] as Map<string, T>).set(k, o);
    this.changed[kind].add(k);
  }
}

function key(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace || 'default'}/${o.metadata?.name ?? ''}`;
}

function json(r: PlanReport): unknown {
  return JSON.parse(JSON.stringify({ plan: r.plan, warnings: r.warnings }));
}

/** update(), checked against the full build. */
function step(t: ExecutionContext, cache: PlanCache, world: World, node: PlanNode | ((s: ClusterState) => PlanNode) = NODE_A): PlanUpdate {
  const u = cache.update(world, world.take());
  const n = typeof node === 'function' ? node(world) : node;
  t.deepEqual(json(u.report), json(buildPlanReport(world, n)));
  return u;
}

function sorted(xs: readonly string[]): string[] {
  return [...xs].sort();
}

const web = svc('web', { clusterIP: '10.96.0.10', type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
const api = svc('api', { clusterIP: '10.96.0.11' });
const webSlice = slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.2.5', node: 'node-b' }] });
const apiSlice = slice('api-1', { service: 'api', endpoints: [{ ip: '198.18.1.7', node: 'node-a' }] });

function seeded(t: ExecutionContext): { world: World; cache: PlanCache } {
  const world = new World().put(web, api, webSlice, apiSlice, node('node-a', ['198.51.100.1']), node('node-b', ['198.51.100.2']));
  const cache = new PlanCache(NODE_A);
  const u = step(t, cache, world);
  t.true(u.full);
  t.deepEqual(sorted(u.frontends.added), ['10.96.0.10|80|6', '10.96.0.11|80|6', '198.51.100.1|30080|6']);
  return { world, cache };
}

test('the first update plans everything and reports every frontend as added', (t) => {
  const { cache } = seeded(t);
  t.is(cache.size, 2);
});

test('a changed Service re-plans that Service only', (t) => {
  const { world, cache } = seeded(t);
  const before = cache.report.plan.frontends;
  world.put(svc('api', { clusterIP: '10.96.0.11', sessionAffinity: 'ClientIP' }));
  const u = step(t, cache, world);
  t.false(u.full);
  t.is(u.replanned, 1);
  t.deepEqual(u.frontends, { added: [], updated: ['10.96.0.11|80|6'], removed: [] });
  t.deepEqual([...u.services], ['default/api']);
  // web's frontends are the very same objects.
  t.is(u.report.plan.frontends.find((f) => f.service === 'default/web'), before.find((f) => f.service === 'default/web'));
});

test('a removed Service removes its frontends; a new one adds them', (t) => {
  const { world, cache } = seeded(t);
  let u = step(t, cache, world.del('services', 'default/web'));
  t.deepEqual(u.frontends, { added: [], updated: [], removed: ['10.96.0.10|80|6', '198.51.100.1|30080|6'] });
  // Its slice stays indexed: the Service coming back finds it.
  u = step(t, cache, world.put(web));
  t.deepEqual(sorted(u.frontends.added), ['10.96.0.10|80|6', '198.51.100.1|30080|6']);
  t.is(cache.frontend('10.96.0.10|80|6')?.backends.length, 2);
});

test('a changed EndpointSlice re-plans the Service its label names', (t) => {
  const { world, cache } = seeded(t);
  const next = slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a', ready: false }, { ip: '198.18.2.5', node: 'node-b' }] });
  const u = step(t, cache, world.put(next));
  t.is(u.replanned, 1);
  t.deepEqual(sorted(u.frontends.updated), ['10.96.0.10|80|6', '198.51.100.1|30080|6']);
  t.deepEqual(cache.frontend('10.96.0.10|80|6')?.backends.map((b) => b.address), ['198.18.2.5']);
});

test('an EndpointSlice whose label moves re-plans both the old and the new Service', (t) => {
  const { world, cache } = seeded(t);
  const moved = slice('web-1', { service: 'api', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.2.5', node: 'node-b' }] });
  const u = step(t, cache, world.put(moved));
  t.is(u.replanned, 2);
  t.deepEqual(sorted(u.frontends.updated), ['10.96.0.10|80|6', '10.96.0.11|80|6', '198.51.100.1|30080|6']);
  t.deepEqual(lines(u.report.plan), [
    'default/api:http ClusterIP 10.96.0.11:80/TCP Cluster -> 198.18.1.5:8080@node-a, 198.18.1.7:8080@node-a, 198.18.2.5:8080@node-b',
    'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> reject',
    'default/web:http NodePort 198.51.100.1:30080/TCP Cluster -> reject',
  ]);
});

test('an EndpointSlice that gains the service-proxy-name label leaves its Service', (t) => {
  const { world, cache } = seeded(t);
  const foreign = slice('web-1', {
    service: 'web', labels: { 'service.kubernetes.io/service-proxy-name': 'other' },
    endpoints: [{ ip: '198.18.1.5', node: 'node-a' }],
  });
  let u = step(t, cache, world.put(foreign));
  t.is(cache.frontend('10.96.0.10|80|6')?.noEndpointsAction, 'reject');
  t.is(u.replanned, 1);
  // And back.
  u = step(t, cache, world.put(webSlice));
  t.is(cache.frontend('10.96.0.10|80|6')?.backends.length, 2);
});

test('a deleted EndpointSlice re-plans the Service it belonged to', (t) => {
  const { world, cache } = seeded(t);
  const u = step(t, cache, world.del('endpointSlices', 'default/api-1'));
  t.deepEqual(u.frontends.updated, ['10.96.0.11|80|6']);
  t.is(cache.frontend('10.96.0.11|80|6')?.noEndpointsAction, 'reject');
});

test('a slice change that does not change the plan reports nothing and keeps the report', (t) => {
  const { world, cache } = seeded(t);
  const report = cache.report;
  // A port the Service does not have: its endpoints are not used.
  const extra = slice('web-2', { service: 'web', ports: [{ name: 'metrics', port: 9090 }], endpoints: [{ ip: '198.18.3.5', node: 'node-b' }] });
  const u = step(t, cache, world.put(extra));
  t.is(u.replanned, 1);
  t.deepEqual(u.frontends, { added: [], updated: [], removed: [] });
  t.false(u.healthCheckNodePortsChanged);
  t.is(u.report, report);
});

test('another node\'s Node object changes nothing: the plan reads only this node', (t) => {
  const { world, cache } = seeded(t);
  const report = cache.report;
  const u = step(t, cache, world.put(node('node-b', ['198.51.100.9'], { 'topology.kubernetes.io/zone': 'zone-b' })));
  t.false(u.full);
  t.is(u.replanned, 0);
  t.is(u.report, report);
});

test('this node\'s addresses changing (through a resolver) re-plans everything', (t) => {
  const resolve = (s: ClusterState): PlanNode => resolvePlanNode(s, { name: 'node-a' });
  const world = new World().put(web, api, webSlice, apiSlice, node('node-a', ['198.51.100.1']));
  const cache = new PlanCache(resolve);
  step(t, cache, world, resolve);
  const u = step(t, cache, world.put(node('node-a', ['198.51.100.3'])), resolve);
  t.true(u.full);
  t.deepEqual(u.frontends, { added: ['198.51.100.3|30080|6'], updated: [], removed: ['198.51.100.1|30080|6'] });
  t.is(cache.planNode?.addresses[0], '198.51.100.3');
});

test('this node\'s zone changing re-plans everything (topology hints); other labels do not', (t) => {
  const resolve = (s: ClusterState): PlanNode => resolvePlanNode(s, { name: 'node-a' });
  const hinted = slice('web-1', { service: 'web', endpoints: [
    { ip: '198.18.1.5', node: 'node-a', zones: ['zone-a'] }, { ip: '198.18.2.5', node: 'node-b', zones: ['zone-b'] },
  ] });
  const world = new World().put(web, hinted, node('node-a', ['198.51.100.1'], { 'topology.kubernetes.io/zone': 'zone-a' }));
  const cache = new PlanCache(resolve);
  step(t, cache, world, resolve);
  t.deepEqual(cache.frontend('10.96.0.10|80|6')?.backends.map((b) => b.address), ['198.18.1.5']);

  let u = step(t, cache, world.put(node('node-a', ['198.51.100.1'], { 'topology.kubernetes.io/zone': 'zone-a', team: 'x' })), resolve);
  t.false(u.full);
  t.is(u.replanned, 0);

  u = step(t, cache, world.put(node('node-a', ['198.51.100.1'], { 'topology.kubernetes.io/zone': 'zone-b' })), resolve);
  t.true(u.full);
  t.deepEqual(sorted(u.frontends.updated), ['10.96.0.10|80|6', '198.51.100.1|30080|6']);
  t.deepEqual(cache.frontend('10.96.0.10|80|6')?.backends.map((b) => b.address), ['198.18.2.5']);
});

test('a frontend two Services claim: the first by name owns it; the other takes over when the first lets go', (t) => {
  const b = svc('b', { clusterIP: '10.96.0.2', externalIPs: ['203.0.113.20'] });
  const a = svc('a', { clusterIP: '10.96.0.1', externalIPs: ['203.0.113.20'] });
  const world = new World().put(b, a);
  const cache = new PlanCache(NODE_A);
  let u = step(t, cache, world);
  t.is(cache.frontend('203.0.113.20|80|6')?.service, 'default/a');
  t.deepEqual(u.report.warnings.map((w) => w.service), ['default/b']);

  // a gives the IP up: b's frontend replaces it (an update of that key), its warning goes.
  u = step(t, cache, world.put(svc('a', { clusterIP: '10.96.0.1' })));
  t.is(u.replanned, 1);
  t.deepEqual(u.frontends, { added: [], updated: ['203.0.113.20|80|6'], removed: [] });
  t.is(cache.frontend('203.0.113.20|80|6')?.service, 'default/b');
  // Both services' lists of frontends changed: what a per-service reconciler needs.
  t.deepEqual(sorted([...u.services]), ['default/a', 'default/b']);
  t.deepEqual(lines({ frontends: cache.frontendsOf('default/a'), healthCheckNodePorts: [] }), ['default/a:http ClusterIP 10.96.0.1:80/TCP Cluster -> reject']);
  t.deepEqual(cache.frontendsOf('default/b').map((f) => f.kind), ['ClusterIP', 'ExternalIP']);
  t.deepEqual(cache.frontendsOf('default/nope'), []);
  t.true(u.warningsChanged);
  t.deepEqual(u.report.warnings, []);

  // a claims it again: back to a, b warned again.
  u = step(t, cache, world.put(a));
  t.deepEqual(u.frontends, { added: [], updated: ['203.0.113.20|80|6'], removed: [] });
  t.true(u.warningsChanged);

  // b is deleted: a keeps it, nothing about that key changes, the warning goes.
  u = step(t, cache, world.del('services', 'default/b'));
  t.deepEqual(u.frontends, { added: [], updated: [], removed: ['10.96.0.2|80|6'] });
  t.deepEqual([...u.services], ['default/b']);
  t.deepEqual(cache.frontendsOf('default/b'), []);
  t.true(u.warningsChanged);
});

test('the owner\'s frontend changing kind changes the other claimant\'s warning', (t) => {
  const owner = svc('a', { clusterIP: '10.96.0.1', externalIPs: ['203.0.113.20'] });
  const other = svc('b', { clusterIP: '10.96.0.2', externalIPs: ['203.0.113.20'] });
  const world = new World().put(owner, other);
  const cache = new PlanCache(NODE_A);
  step(t, cache, world);
  const asIngress = svc('a', { type: 'LoadBalancer', clusterIP: '10.96.0.1', allocateLoadBalancerNodePorts: false },
    { status: { loadBalancer: { ingress: [{ ip: '203.0.113.20' }] } } });
  const u = step(t, cache, world.put(asIngress));
  t.true(u.warningsChanged);
  t.regex(u.report.warnings[0]?.message ?? '', /already default\/a's LoadBalancer frontend/);
});

test('health check node ports: a changed local endpoint count and a port two Services claim', (t) => {
  const lb = (name: string, ip: string) => svc(name, {
    type: 'LoadBalancer', clusterIP: ip, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
    ports: [{ name: 'http', port: 80, nodePort: name === 'a' ? 30001 : 30002 }],
  });
  const epsOf = (name: string, ready: boolean) => slice(`${name}-1`, { service: name, endpoints: [{ ip: name === 'a' ? '198.18.1.1' : '198.18.1.2', node: 'node-a', ready }] });
  const world = new World().put(lb('b', '10.96.0.2'), epsOf('b', true));
  const cache = new PlanCache(NODE_A);
  let u = step(t, cache, world);
  t.deepEqual(u.report.plan.healthCheckNodePorts, [{ service: 'default/b', port: 32000, localReadyEndpoints: 1 }]);

  u = step(t, cache, world.put(epsOf('b', false)));
  t.true(u.healthCheckNodePortsChanged);
  t.deepEqual(u.report.plan.healthCheckNodePorts, [{ service: 'default/b', port: 32000, localReadyEndpoints: 0 }]);

  // a sorts first and takes the port; b is warned.
  u = step(t, cache, world.put(lb('a', '10.96.0.1'), epsOf('a', true)));
  t.true(u.healthCheckNodePortsChanged);
  t.deepEqual(u.report.plan.healthCheckNodePorts, [{ service: 'default/a', port: 32000, localReadyEndpoints: 1 }]);
  t.deepEqual(u.report.warnings, [{ service: 'default/b', message: 'healthCheckNodePort 32000 is already default/a\'s; left out' }]);

  // b's endpoints change: b is not serving the port, so the ports do not change.
  u = step(t, cache, world.put(epsOf('b', true)));
  t.false(u.healthCheckNodePortsChanged);
});

test('a report is a snapshot: later updates do not change it', (t) => {
  const { world, cache } = seeded(t);
  const old = cache.report;
  const oldJson = json(buildPlanReport(world, NODE_A));
  step(t, cache, world.del('services', 'default/api').put(svc('zed', { clusterIP: '10.96.0.99' })));
  // Read only now: built from what was planned then.
  t.deepEqual(json(old), oldJson);
});

test('unchanged frontends keep their object identity across updates', (t) => {
  const { world, cache } = seeded(t);
  const before = new Map(cache.report.plan.frontends.map((f) => [f.address, f]));
  // Slice order/objects change, content does not.
  step(t, cache, world.put(structuredClone(webSlice)));
  for (const f of cache.report.plan.frontends) t.true(f === before.get(f.address), f.address);
});

test('rebuild() plans everything again and still reports only real differences', (t) => {
  const { world, cache } = seeded(t);
  const u = cache.rebuild(world);
  t.true(u.full);
  t.deepEqual(u.frontends, { added: [], updated: [], removed: [] });
  t.deepEqual(json(u.report), json(buildPlanReport(world, NODE_A)));
});

test('a failed update leaves the cache to rebuild on the next one', (t) => {
  let addresses = ['198.51.100.1'];
  const world = new World().put(web, webSlice);
  const cache = new PlanCache(() => ({ name: 'node-a', addresses }));
  step(t, cache, world);
  addresses = ['not-an-ip'];
  const err = t.throws(() => cache.update(world.put(node('node-a', [])), world.take()), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_INVALID_ARGUMENT');
  addresses = ['198.51.100.2'];
  const u = cache.update(world.put(api, apiSlice), world.take());
  t.true(u.full);
  t.deepEqual(json(u.report), json(buildPlanReport(world, { name: 'node-a', addresses })));
});

test('Services and slices are matched by their own namespace, as the full build does', (t) => {
  // A slice without namespace belongs to the Service in "default"; one in ns1 does not.
  const world = new World().put(
    svc('web', { clusterIP: '10.96.0.10' }),
    { ...slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] }), metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } } },
    slice('web-2', { service: 'web', namespace: 'ns1', endpoints: [{ ip: '198.18.1.6', node: 'node-a' }] }),
  );
  const cache = new PlanCache(NODE_A);
  step(t, cache, world);
  t.deepEqual(cache.frontend('10.96.0.10|80|6')?.backends.map((b) => b.address), ['198.18.1.5']);
  step(t, cache, world.put(svc('web', { clusterIP: '10.96.0.12' }, { namespace: 'ns1' })));
  t.deepEqual(cache.frontend('10.96.0.12|80|6')?.backends.map((b) => b.address), ['198.18.1.6']);
});
