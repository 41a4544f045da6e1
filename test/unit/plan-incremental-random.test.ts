/**
 * PlanCache against the full build: hundreds of random mutations (Services,
 * EndpointSlices and Nodes added, modified and deleted; slices moving between
 * Services; frontends and health check ports claimed by several Services),
 * and after each batch the cache's report must be exactly buildPlanReport's
 * for the same state, and the reported differences exactly the differences
 * between consecutive full builds. Seeded, so a failure names its seed and step.
 */
import test from 'ava';
import type { V1EndpointSlice, V1Node, V1Service, V1ServicePort } from '@kubernetes/client-node';
import type { ClusterState } from '../../src/api/types.js';
import { PlanCache, type PlanNodeSource } from '../../src/plan/incremental.js';
import {
  buildPlanReport, frontendKey, resolvePlanNode, type Frontend, type PlanNode, type PlanOptions, type PlanReport,
} from '../../src/plan/index.js';
import { seededRandom } from '../helpers/rng.js';


class Gen {
  constructor(readonly r: () => number) {}
  int(n: number): number { return Math.floor(this.r() * n); }
  chance(p: number): boolean { return this.r() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)] as T; }
  some<T>(xs: readonly T[], max: number): T[] {
    const n = this.int(max + 1);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(this.pick(xs));
    return out;
  }
}

// Small pools, so that conflicts, duplicates and moves happen often.
const NAMESPACES = ['default', 'ns1'];
const SERVICE_NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
const SLICE_NAMES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8'];
const NODE_NAMES = ['node-a', 'node-b', 'node-c'];
const CLUSTER_IPS = ['10.96.0.1', '10.96.0.2', '10.96.0.3', '10.96.0.4', '10.96.0.5'];
const CLUSTER_IPS6 = ['fd00::1', 'fd00::2'];
const EXTERNAL_IPS = ['203.0.113.1', '203.0.113.2', '10.96.0.1', '2001:db8::9'];
const INGRESS = ['203.0.113.2', '203.0.113.3', '2001:db8::10'];
const NODE_PORTS = [30001, 30002, 30003];
const HC_PORTS = [32001, 32002];
const POD_IPS = ['198.18.1.1', '198.18.1.2', '198.18.2.1', '198.18.2.2', '198.18.3.1', 'fd00:18::1', 'fd00:18::2'];
const NODE_ADDRS = ['198.51.100.1', '198.51.100.2', '198.51.100.3', '2001:db8:100::1'];
const ZONES = ['zone-a', 'zone-b'];
const PORTS: V1ServicePort[] = [
  { name: 'http', port: 80, protocol: 'TCP' }, { name: 'https', port: 443, protocol: 'TCP' },
  { name: 'dns', port: 53, protocol: 'UDP' }, { name: 'http', port: 80, protocol: 'UDP' },
];

function genService(g: Gen, ns: string | undefined, name: string): V1Service {
  const type = g.pick(['ClusterIP', 'ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);
  const dual = g.chance(0.2);
  const clusterIP = g.chance(0.05) ? 'None' : g.pick(CLUSTER_IPS);
  const ports: V1ServicePort[] = [];
  const seen = new Set<string>();
  for (const p of g.some(PORTS, 3)) {
    const id = `${p.name}/${p.protocol}`;
    if (seen.has(id)) continue;
    seen.add(id);
    ports.push({ ...p, ...(type !== 'ClusterIP' && g.chance(0.8) ? { nodePort: g.pick(NODE_PORTS) } : {}) });
  }
  if (ports.length === 1 && g.chance(0.3)) ports[0] = { ...ports[0], name: '' } as V1ServicePort;
  const local = g.chance(0.4);
  const spec: V1Service['spec'] = {
    type, clusterIP, ports,
    ...(dual && clusterIP !== 'None' ? { clusterIPs: [clusterIP, g.pick(CLUSTER_IPS6)], ipFamilies: ['IPv4', 'IPv6'] } : {}),
    ...(g.chance(0.3) ? { externalIPs: g.some(EXTERNAL_IPS, 2) } : {}),
    ...(local ? { externalTrafficPolicy: 'Local' } : {}),
    ...(g.chance(0.2) ? { internalTrafficPolicy: 'Local' } : {}),
    ...(local && type === 'LoadBalancer' && g.chance(0.8) ? { healthCheckNodePort: g.pick(HC_PORTS) } : {}),
    ...(g.chance(0.2) ? { sessionAffinity: 'ClientIP' } : {}),
    ...(g.chance(0.2) ? { loadBalancerSourceRanges: g.pick([['198.51.100.0/24'], ['192.0.2.0/25', '2001:db8::/32']]) } : {}),
  };
  const labels = g.chance(0.1) ? { [g.pick(['service.kubernetes.io/service-proxy-name', 'service.kubernetes.io/headless'])]: 'x' } : undefined;
  const ingress = type === 'LoadBalancer' && g.chance(0.7)
    ? g.some(INGRESS, 2).map((ip) => (g.chance(0.2) ? { ip, ipMode: 'Proxy' } : { ip }))
    : undefined;
  return {
    metadata: { name, ...(ns === undefined ? {} : { namespace: ns }), ...(labels ? { labels } : {}) },
    spec,
    ...(ingress ? { status: { loadBalancer: { ingress } } } : {}),
  };
}

function genSlice(g: Gen, ns: string | undefined, name: string): V1EndpointSlice {
  const labels: Record<string, string> = {};
  if (g.chance(0.93)) labels['kubernetes.io/service-name'] = g.pick(SERVICE_NAMES);
  if (g.chance(0.05)) labels['service.kubernetes.io/headless'] = '';
  const addressType = g.pick(['IPv4', 'IPv4', 'IPv4', 'IPv6']);
  const ports = g.some(PORTS, 2).map((p) => ({ name: p.name, protocol: p.protocol, port: g.pick([8080, 8443, 53]) }));
  const endpoints = g.some(POD_IPS, 4).map((ip) => {
    const conditions: Record<string, boolean> = {};
    if (g.chance(0.3)) conditions['ready'] = g.chance(0.5);
    if (g.chance(0.3)) conditions['serving'] = g.chance(0.6);
    if (g.chance(0.3)) conditions['terminating'] = g.chance(0.5);
    const zones = g.chance(0.5) ? g.some(ZONES, 2).map((z) => ({ name: z })) : undefined;
    const nodes = g.chance(0.2) ? g.some(NODE_NAMES, 2).map((n) => ({ name: n })) : undefined;
    return {
      addresses: [ip],
      ...(g.chance(0.85) ? { nodeName: g.pick(NODE_NAMES) } : {}),
      ...(Object.keys(conditions).length > 0 ? { conditions } : {}),
      ...(zones || nodes ? { hints: { ...(zones ? { forZones: zones } : {}), ...(nodes ? { forNodes: nodes } : {}) } } : {}),
    };
  });
  return { metadata: { name, ...(ns === undefined ? {} : { namespace: ns }), labels }, addressType, ports, endpoints };
}

function genNode(g: Gen, name: string): V1Node {
  const labels: Record<string, string> = {};
  if (g.chance(0.7)) labels['topology.kubernetes.io/zone'] = g.pick(ZONES);
  if (g.chance(0.5)) labels['kubernetes.io/os'] = g.pick(['linux', 'windows']);
  const addresses = g.some(NODE_ADDRS, 2).map((address) => ({ type: g.pick(['InternalIP', 'InternalIP', 'ExternalIP']), address }));
  return { metadata: { name, labels }, status: { addresses } };
}

/** A ClusterState that records the keys each mutation touches, like ClusterStore. */
class World implements ClusterState {
  readonly services = new Map<string, V1Service>();
  readonly endpointSlices = new Map<string, V1EndpointSlice>();
  readonly nodes = new Map<string, V1Node>();
  changed = { services: new Set<string>(), endpointSlices: new Set<string>(), nodes: new Set<string>() };

  take(): { services: Set<string>; endpointSlices: Set<string>; nodes: Set<string> } {
    const c = this.changed;
    this.changed = { services: new Set(), endpointSlices: new Set(), nodes: new Set() };
    return c;
  }

  mutate(g: Gen): void {
    const what = g.int(10);
    // The source's key, as objectKey() makes it; sometimes the object has no (or an empty) namespace.
    const ns = g.pick([...NAMESPACES, undefined, '']);
    const nsKey = ns || 'default';
    if (what < 3) {
      const name = g.pick(SERVICE_NAMES);
      const key = `${nsKey}/${name}`;
      if (this.services.has(key) && g.chance(0.3)) this.services.delete(key);
      else this.services.set(key, genService(g, ns, name));
      this.changed.services.add(key);
    } else if (what < 9) {
      const name = g.pick(SLICE_NAMES);
      const key = `${nsKey}/${name}`;
      const old = this.endpointSlices.get(key);
      if (old && g.chance(0.25)) {
        this.endpointSlices.delete(key);
      } else if (old && g.chance(0.4)) {
        // The common case: one endpoint changes, or the label moves to another Service.
        const next = structuredClone(old);
        if (g.chance(0.3)) {
          next.metadata = { ...next.metadata, labels: { ...next.metadata?.labels, 'kubernetes.io/service-name': g.pick(SERVICE_NAMES) } };
        } else if (next.endpoints.length > 0) {
          const ep = next.endpoints[g.int(next.endpoints.length)];
          if (ep) ep.conditions = { ready: g.chance(0.5), terminating: g.chance(0.5), serving: g.chance(0.5) };
        } else {
          next.endpoints.push({ addresses: [g.pick(POD_IPS)], nodeName: g.pick(NODE_NAMES) });
        }
        this.endpointSlices.set(key, next);
      } else {
        this.endpointSlices.set(key, genSlice(g, ns, name));
      }
      this.changed.endpointSlices.add(key);
    } else {
      const name = g.pick(NODE_NAMES);
      const old = this.nodes.get(name);
      if (old && g.chance(0.2)) {
        this.nodes.delete(name);
      } else if (old && g.chance(0.5)) {
        // Only the labels change (the zone, or a label the plan does not read).
        const labels = { ...old.metadata?.labels };
        if (g.chance(0.6)) labels['topology.kubernetes.io/zone'] = g.pick(ZONES);
        else labels['kubernetes.io/os'] = g.pick(['linux', 'windows']);
        this.nodes.set(name, { ...old, metadata: { ...old.metadata, labels } });
      } else {
        this.nodes.set(name, genNode(g, name));
      }
      this.changed.nodes.add(name);
    }
  }
}

function json(r: PlanReport): unknown {
  return JSON.parse(JSON.stringify({ plan: r.plan, warnings: r.warnings }));
}

function byKey(r: PlanReport): Map<string, Frontend> {
  return new Map(r.plan.frontends.map((f) => [frontendKey(f), f]));
}

/** Each service's frontends in the plan, as JSON. */
function byService(r: PlanReport): Map<string, string> {
  const out = new Map<string, Frontend[]>();
  for (const f of r.plan.frontends) out.set(f.service, [...(out.get(f.service) ?? []), f]);
  return new Map([...out].map(([s, fs]) => [s, JSON.stringify(fs)]));
}

interface Scenario {
  name: string;
  node: PlanNodeSource;
  resolve: (s: ClusterState) => PlanNode;
  options?: PlanOptions;
  /** Report-order chunk size: tiny ones make chunks split and empty out. */
  chunkSize?: number;
}

const resolveA = (s: ClusterState): PlanNode => resolvePlanNode(s, { name: 'node-a' });
const FIXED: PlanNode = { name: 'node-a', addresses: ['198.51.100.1', '2001:db8:100::1'], zone: 'zone-a' };

const scenarios: Scenario[] = [
  { name: 'this node resolved from its Node object', node: resolveA, resolve: resolveA },
  { name: 'this node resolved, chunks of 1', node: resolveA, resolve: resolveA, chunkSize: 1 },
  { name: 'a fixed dual-stack node, chunks of 2', node: FIXED, resolve: () => FIXED, chunkSize: 2 },
  { name: 'both families, node hints off', node: resolveA, resolve: resolveA, options: { ipFamilies: ['IPv4', 'IPv6'], preferSameNodeHints: false } },
];

for (const sc of scenarios) {
  for (const seed of [1, 2, 3, 4]) {
    test(`random mutations keep the cached plan equal to a full build (${sc.name}, seed ${seed})`, (t) => {
      const g = new Gen(seededRandom(seed * 7919 + sc.name.length));
      const world = new World();
      const cache = new PlanCache(sc.node, sc.options, { chunkSize: sc.chunkSize });
      let previous: PlanReport = buildPlanReport(world, sc.resolve(world), sc.options);
      let fulls = 0;
      /** Every other report is read only after the next update: it must still be what it was (a snapshot). */
      let unread: { report: PlanReport; expected: unknown } | null = null;
      let conflicts = 0;
      const steps = 400;
      for (let step = 0; step < steps; step++) {
        const batch = step === 0 ? 25 : g.chance(0.7) ? 1 : 1 + g.int(6);
        for (let i = 0; i < batch; i++) world.mutate(g);
        const changed = world.take();
        const u = cache.update(world, changed);
        const full = buildPlanReport(world, sc.resolve(world), sc.options);
        const where = `seed ${seed}, step ${step}`;
        if (unread) t.deepEqual(json(unread.report), unread.expected, `report read after the next update differs, before ${where}`);
        unread = null;
        if (step % 2 === 0) t.deepEqual(json(u.report), json(full), `report differs from the full build at ${where}`);
        else unread = { report: u.report, expected: json(full) };
        t.is(cache.report, u.report);

        // The differences, against consecutive full builds.
        const before = byKey(previous);
        const after = byKey(full);
        const added = [...after.keys()].filter((k) => !before.has(k)).sort();
        const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
        const updated = [...after.keys()].filter((k) => before.has(k) && JSON.stringify(before.get(k)) !== JSON.stringify(after.get(k))).sort();
        t.deepEqual([...u.frontends.added].sort(), added, `added at ${where}`);
        t.deepEqual([...u.frontends.removed].sort(), removed, `removed at ${where}`);
        t.deepEqual([...u.frontends.updated].sort(), updated, `updated at ${where}`);
        t.is(u.healthCheckNodePortsChanged, JSON.stringify(previous.plan.healthCheckNodePorts) !== JSON.stringify(full.plan.healthCheckNodePorts),
          `healthCheckNodePortsChanged at ${where}`);
        t.is(u.warningsChanged, JSON.stringify(previous.warnings) !== JSON.stringify(full.warnings), `warningsChanged at ${where}`);
        for (const k of u.frontends.added.concat(u.frontends.updated)) t.deepEqual(cache.frontend(k), after.get(k));
        // Per service: exactly the services whose frontend lists changed, and their new lists.
        const servicesBefore = byService(previous);
        const servicesAfter = byService(full);
        const changedServices = [...new Set([...servicesBefore.keys(), ...servicesAfter.keys()])]
          .filter((s) => servicesBefore.get(s) !== servicesAfter.get(s)).sort();
        t.deepEqual([...u.services].sort(), changedServices, `services at ${where}`);
        for (const s of changedServices) t.is(JSON.stringify(cache.frontendsOf(s)), servicesAfter.get(s) ?? '[]', `frontendsOf(${s}) at ${where}`);
        if (u.full) fulls++;
        if (full.warnings.some((w) => w.message.includes('already'))) conflicts++;
        previous = full;
      }
      // The run exercised what it is meant to: conflicts, and incremental (not full) updates.
      t.true(conflicts > steps / 10, `conflicts in ${conflicts} steps`);
      t.true(fulls < steps / 3, `${fulls} full re-plans`);
    });
  }
}

test('random batches applied at once equal the same mutations applied one by one', (t) => {
  const g = new Gen(seededRandom(99));
  const world = new World();
  const batched = new PlanCache(resolveA);
  const single = new PlanCache(resolveA);
  for (let step = 0; step < 100; step++) {
    const keys = { services: new Set<string>(), endpointSlices: new Set<string>(), nodes: new Set<string>() };
    for (let i = 0; i < 8; i++) {
      world.mutate(g);
      const c = world.take();
      single.update(world, c);
      for (const k of c.services) keys.services.add(k);
      for (const k of c.endpointSlices) keys.endpointSlices.add(k);
      for (const k of c.nodes) keys.nodes.add(k);
    }
    t.deepEqual(json(batched.update(world, keys).report), json(single.report));
  }
});
