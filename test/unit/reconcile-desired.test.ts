/**
 * The desired datapath state from a Plan (src/reconcile/desired.ts): which
 * frontends, backend sets (one service id and Maglev table each), backends
 * and nodes get programmed, with which flags. Pure: no kernel, no root.
 */
import test from 'ava';
import {
  DSRLB_SVC_F_AFFINITY, DSRLB_SVC_F_NOEP_DROP, DSRLB_SVC_F_NOEP_REJECT, DSRLB_SVC_F_SOCKET_ONLY, DSRLB_SVC_F_SOURCE_RANGES,
} from '../../src/bpf/consts.generated.js';
import {
  allBackends, allFrontends, allGroups, allWarnings, buildDesiredState, type DesiredInput,
} from '../../src/reconcile/desired.js';
import { frontendKey } from '../../src/model/keys.js';
import type { DesiredState } from '../../src/reconcile/desired-types.js';
import { sameServiceDesired } from '../../src/reconcile/equality.js';
import { nodeIdForAddress } from '../../src/reconcile/node-ids.js';
import { DsrlbError } from '../../src/errors.js';
import { buildPlan } from '../../src/plan/index.js';
import type { Backend, Frontend, Plan } from '../../src/plan/index.js';
import { node, slice, state, svc } from '../fixtures/plan-builders.js';

const LOCAL = { name: 'node-a', address: '198.51.100.1' };
const NODES = new Map([['node-a', '198.51.100.1'], ['node-b', '198.51.100.2'], ['node-c', '198.51.100.3']]);
const ID_A = nodeIdForAddress('198.51.100.1');
const ID_B = nodeIdForAddress('198.51.100.2');

function be(address: string, nodeName: string | null, port = 8080, terminating = false): Backend {
  return { address, port, nodeName, terminating };
}

function fe(over: Partial<Frontend> & Pick<Frontend, 'address'>): Frontend {
  return {
    service: 'default/web', servicePort: 'http', kind: 'ClusterIP', port: 80, protocol: 'TCP',
    backends: [], sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster',
    noEndpointsAction: null, ...over,
  };
}

/** The desired state seen across services. */
function view(d: DesiredState) {
  return { frontends: allFrontends(d), groups: allGroups(d), backends: allBackends(d), warnings: allWarnings(d), nodes: d.nodes };
}
type View = ReturnType<typeof view>;

function desired(frontends: Frontend[], extra: Partial<DesiredInput> = {}): View {
  const plan: Plan = { frontends, healthCheckNodePorts: [] };
  return view(buildDesiredState({ plan, localNode: LOCAL, nodeAddresses: NODES, ...extra }));
}

/** "group key: backend@node, ... (M)" per group, sorted. */
function groupLines(d: View): string[] {
  return [...d.groups.values()].map((g) => `${g.key}: ${g.backends.map((b) => `${b.name}@${b.nodeId === ID_A ? 'a' : b.nodeId === ID_B ? 'b' : b.nodeId}`).join(', ')} (${g.maglevSize})`).sort();
}

test('one ClusterIP frontend: one group, its backends with their nodes, a table sized for them', (t) => {
  const d = desired([fe({ address: '10.96.0.10', backends: [be('198.18.2.5', 'node-b'), be('198.18.1.5', 'node-a')] })]);
  t.deepEqual(groupLines(d), ['default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a, 198.18.2.5:8080@b (1021)']);
  const f = d.frontends.get('10.96.0.10|80|6');
  t.deepEqual(f && { lbKey: f.lbKey, flags: f.flags, count: f.backendCount, timeout: f.affinityTimeout, group: f.groupKey }, {
    lbKey: { address: '10.96.0.10', port: 80, proto: 6 }, flags: 0, count: 2, timeout: 0, group: 'default/web|http|TCP|IPv4|Cluster',
  });
  t.deepEqual([...d.backends.keys()].sort(), ['198.18.1.5|8080|6', '198.18.2.5|8080|6']);
  t.deepEqual(d.warnings, []);
});

test('every node with an IPv4 address is programmed (Geneve destinations and allowed senders), this node included', (t) => {
  const d = desired([], { nodeAddresses: new Map([['node-b', '198.51.100.2'], ['node-v6', '2001:db8::1']]) });
  t.deepEqual([...d.nodes].sort((a, b) => a[0] - b[0]), [[ID_A, '198.51.100.1'], [ID_B, '198.51.100.2']]);
});

test('a real LoadBalancer Service: ClusterIP, NodePort and LoadBalancer frontends share one table; only the LB frontend checks source ranges', (t) => {
  const s = state({
    services: [svc('web', {
      type: 'LoadBalancer', clusterIP: '10.96.0.10', loadBalancerSourceRanges: ['192.0.2.0/24'],
      ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP', targetPort: 8080 }],
    }, { status: { loadBalancer: { ingress: [{ ip: '203.0.113.10' }] } } })],
    slices: [slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }, { ip: '198.18.2.5', node: 'node-b' }] })],
    nodes: [node('node-a', ['198.51.100.1']), node('node-b', ['198.51.100.2'])],
  });
  const plan = buildPlan(s, { name: 'node-a', addresses: ['198.51.100.1'] });
  const d = view(buildDesiredState({ plan, localNode: LOCAL, nodeAddresses: NODES }));
  t.is(d.frontends.size, 4, 'ClusterIP, NodePort, LoadBalancer and the socket-only NodePort on any node address');
  t.deepEqual(groupLines(d), ['default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a, 198.18.2.5:8080@b (1021)']);
  const flags = Object.fromEntries([...d.frontends.values()].map((f) => [f.key, f.flags]));
  t.deepEqual(flags, {
    '10.96.0.10|80|6': 0, '198.51.100.1|30080|6': 0, '203.0.113.10|80|6': DSRLB_SVC_F_SOURCE_RANGES, '0.0.0.0|30080|6': DSRLB_SVC_F_SOCKET_ONLY,
  });
  t.true([...d.frontends.values()].every((f) => f.internalFrontend === null), 'one policy: every frontend has the ClusterIP\'s backends already');
  t.deepEqual([...d.groups.values()][0]?.sourceRanges, [{ address: '192.0.2.0', prefixLength: 24 }]);
});

test('externalTrafficPolicy Local: external frontends get their own (local-only) table, ClusterIP keeps the cluster-wide one', (t) => {
  const all = [be('198.18.1.5', 'node-a'), be('198.18.2.5', 'node-b')];
  const d = desired([
    fe({ address: '10.96.0.10', backends: all }),
    fe({ kind: 'NodePort', address: '198.51.100.1', port: 30080, trafficScope: 'Local', backends: [all[0] as Backend] }),
  ]);
  t.deepEqual(groupLines(d), [
    'default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a, 198.18.2.5:8080@b (1021)',
    'default/web|http|TCP|IPv4|Local: 198.18.1.5:8080@a (1021)',
  ]);
  t.is(d.backends.size, 2, 'a backend in two tables is one lb4_backends entry');
  // In-cluster clients (the socket hooks) follow internalTrafficPolicy on every address of the service.
  const nodePort = d.frontends.get('198.51.100.1|30080|6');
  t.is(nodePort?.internalFrontend, frontendKey('10.96.0.10', 80, 6));
  t.is(nodePort?.groupKey, 'default/web|http|TCP|IPv4|Local');
  const anyNode = d.frontends.get('0.0.0.0|30080|6');
  t.like(anyNode, { kind: 'NodePort', groupKey: 'default/web|http|TCP|IPv4|Cluster', flags: DSRLB_SVC_F_SOCKET_ONLY, backendCount: 2, internalFrontend: null });
});

test('session affinity sets the flag and the timeout', (t) => {
  const d = desired([fe({ address: '10.96.0.10', sessionAffinityTimeoutSeconds: 600, backends: [be('198.18.1.5', 'node-a')] })]);
  const f = [...d.frontends.values()][0];
  t.is(f?.flags, DSRLB_SVC_F_AFFINITY);
  t.is(f?.affinityTimeout, 600);
});

const noEndpointCases: [string, Frontend['noEndpointsAction'], number][] = [
  ['reject (no usable endpoint anywhere) -> NOEP_REJECT', 'reject', DSRLB_SVC_F_NOEP_REJECT],
  ['drop (Local policy, none on this node) -> NOEP_DROP', 'drop', DSRLB_SVC_F_NOEP_DROP],
];
for (const [name, action, flag] of noEndpointCases) {
  test(`no endpoints: ${name}, no table`, (t) => {
    const d = desired([fe({ address: '10.96.0.10', noEndpointsAction: action })]);
    const f = [...d.frontends.values()][0];
    t.is(f?.flags, flag);
    t.is(f?.backendCount, 0);
    t.is([...d.groups.values()][0]?.maglevSize, 0);
  });
}

test('a backend whose node is unknown cannot be reached through Geneve: left out, with a warning', (t) => {
  const d = desired([fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a'), be('198.18.9.9', 'node-gone'), be('198.18.8.8', null)] })]);
  t.deepEqual(groupLines(d), ['default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a (1021)']);
  t.deepEqual(d.warnings.map((w) => w.message), [
    "backend 198.18.9.9:8080 is on node 'node-gone', which has no known IPv4 address: left out",
    'backend 198.18.8.8:8080 has no nodeName: left out (its node is the Geneve destination)',
  ]);
});

test('endpoints exist but none is reachable: the frontend rejects rather than dropping silently', (t) => {
  const d = desired([fe({ address: '10.96.0.10', backends: [be('198.18.9.9', 'node-gone')] })]);
  t.is([...d.frontends.values()][0]?.flags, DSRLB_SVC_F_NOEP_REJECT);
});

test('IPv6 frontends are left out with one warning per service', (t) => {
  const d = desired([
    fe({ address: 'fd00::10', backends: [be('fd00:1::5', 'node-a')] }),
    fe({ address: 'fd00::11', backends: [be('fd00:1::5', 'node-a')] }),
    fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a')] }),
  ]);
  t.deepEqual([...d.frontends.keys()], ['10.96.0.10|80|6']);
  t.deepEqual(d.warnings, [{ service: 'default/web', message: 'IPv6 frontends are not programmed (the datapath is IPv4)' }]);
});

test('serving-terminating fallback backends (kube-proxy uses them when nothing is ready) are in the table', (t) => {
  const d = desired([fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a', 8080, true)] })]);
  t.deepEqual(groupLines(d), ['default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a (1021)']);
  t.is([...d.frontends.values()][0]?.backendCount, 1);
});

test('the same pod port under two protocols is two backends', (t) => {
  const d = desired([
    fe({ address: '10.96.0.53', port: 53, protocol: 'UDP', servicePort: 'dns', backends: [be('198.18.1.5', 'node-a', 53)] }),
    fe({ address: '10.96.0.53', port: 53, protocol: 'TCP', servicePort: 'dns-tcp', backends: [be('198.18.1.5', 'node-a', 53)] }),
  ]);
  t.deepEqual([...d.backends.keys()].sort(), ['198.18.1.5|53|17', '198.18.1.5|53|6']);
  t.is(d.groups.size, 2);
});

test('frontends of one backend set that disagree get separate tables, with a warning', (t) => {
  const d = desired([
    fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a')] }),
    fe({ kind: 'ExternalIP', address: '203.0.113.7', backends: [be('198.18.2.5', 'node-b')] }),
  ]);
  t.deepEqual(groupLines(d), [
    'default/web|http|TCP|IPv4|Cluster#1: 198.18.2.5:8080@b (1021)',
    'default/web|http|TCP|IPv4|Cluster: 198.18.1.5:8080@a (1021)',
  ]);
  t.regex(d.warnings[0]?.message ?? '', /disagree on backends: ExternalIP 203\.0\.113\.7:80 gets its own table/);
});

test('table size follows the backend count and the configured maximum', (t) => {
  const ten = Array.from({ length: 10 }, (_, i) => be(`198.18.1.${i + 1}`, 'node-a'));
  t.is([...desired([fe({ address: '10.96.0.10', backends: ten })]).groups.values()][0]?.maglevSize, 1021);
  const eleven = [...ten, be('198.18.1.11', 'node-a')];
  t.is([...desired([fe({ address: '10.96.0.10', backends: eleven })]).groups.values()][0]?.maglevSize, 2042);
  const plan: Plan = { frontends: [fe({ address: '10.96.0.10', backends: eleven })], healthCheckNodePorts: [] };
  // A cap that is no size of the ladder stands for the largest size below it.
  const small = view(buildDesiredState({ plan, localNode: LOCAL, nodeAddresses: NODES }, { maglevMaxSize: 2041 }));
  t.is([...small.groups.values()][0]?.maglevSize, 1021);
});

test('group backends are sorted by name whatever the plan order', (t) => {
  const a = desired([fe({ address: '10.96.0.10', backends: [be('198.18.2.5', 'node-b'), be('198.18.1.5', 'node-a')] })]);
  const b = desired([fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a'), be('198.18.2.5', 'node-b')] })]);
  t.deepEqual(groupLines(a), groupLines(b));
});

test('source ranges that are not IPv4 CIDRs are ignored with a warning', (t) => {
  const d = desired([fe({ kind: 'LoadBalancer', address: '203.0.113.10', sourceRanges: ['192.0.2.0/24', 'bogus'], backends: [be('198.18.1.5', 'node-a')] })]);
  t.deepEqual([...d.groups.values()][0]?.sourceRanges, [{ address: '192.0.2.0', prefixLength: 24 }]);
  t.regex(d.warnings[0]?.message ?? '', /'bogus' is not an IPv4 CIDR/);
});

test('node ids are the IPv4 address as a u32; anything else is refused', (t) => {
  t.is(nodeIdForAddress('198.51.100.1'), 0xc6336401);
  t.is(nodeIdForAddress('255.255.255.255'), 0xffffffff);
  t.throws(() => nodeIdForAddress('0.0.0.0'), { instanceOf: DsrlbError });
  t.throws(() => nodeIdForAddress('2001:db8::1'), { instanceOf: DsrlbError, message: /not an IPv4 address/ });
});

test('services are independent: one service\'s state does not depend on another\'s', (t) => {
  const web = fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a')] });
  const dns = fe({ service: 'kube-system/dns', address: '10.96.0.53', backends: [be('198.18.1.5', 'node-a')] });
  const plan = (fs: Frontend[]): Plan => ({ frontends: fs, healthCheckNodePorts: [] });
  const alone = buildDesiredState({ plan: plan([web]), localNode: LOCAL, nodeAddresses: NODES });
  const both = buildDesiredState({ plan: plan([dns, web]), localNode: LOCAL, nodeAddresses: NODES });
  const a = alone.services.get('default/web');
  const b = both.services.get('default/web');
  t.truthy(a && b && sameServiceDesired(a, b));
  t.deepEqual([...both.services.keys()], ['kube-system/dns', 'default/web']);
});

test('sameServiceDesired tells a changed backend, node, size or flag apart from a rebuild of the same plan', (t) => {
  const build = (f: Frontend) => buildDesiredState({ plan: { frontends: [f], healthCheckNodePorts: [] }, localNode: LOCAL, nodeAddresses: NODES }).services.get('default/web');
  const base = fe({ address: '10.96.0.10', backends: [be('198.18.1.5', 'node-a')] });
  const same = build({ ...base, backends: [be('198.18.1.5', 'node-a')] });
  const a = build(base);
  t.truthy(a && same && sameServiceDesired(a, same));
  for (const other of [
    { ...base, backends: [be('198.18.1.6', 'node-a')] },
    { ...base, backends: [be('198.18.1.5', 'node-b')] },
    { ...base, backends: [be('198.18.1.5', 'node-a'), be('198.18.1.6', 'node-a')] },
    { ...base, sessionAffinityTimeoutSeconds: 10 },
    { ...base, port: 81 },
  ]) {
    const b = build(other);
    t.false(Boolean(a && b && sameServiceDesired(a, b)), JSON.stringify(other));
  }
});
