/**
 * Socket LB for real: BPF_PROG_RUN does not run cgroup sock_addr hooks, so
 * clients (the socket client, in network namespaces) run inside a cgroup2
 * directory the programs are attached to, against pod servers in other
 * namespaces, with the maps written by the reconciler from a cluster state.
 * Every test reads which backend answered (the pod server reports the
 * address it was reached on) and what getpeername/recvmsg showed.
 */
import test from 'ava';
import { DSRLB_BE_F_TERMINATING, netnsCookie } from '../../src/bpf/index.js';
import { MapSpecs, openPinned } from '../../src/bpf/map-specs.js';
import { MonitorSession, type MonitorEvent } from '../../src/bpf/monitor.js';
import { readStats } from '../../src/bpf/stats.js';
import { formatText } from '../../src/cli/monitor-format.js';
import { attachSocketLb, detachSocketLb, socketLbStatus } from '../../src/agent/socket-lb.js';
import type { TcpResult, UdpReply } from '../../src/lab/socket-client.js';
import { buildPlan } from '../../src/plan/index.js';
import { Reconciler } from '../../src/reconcile/index.js';
import { node, slice, state, svc } from '../fixtures/plan-builders.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { podNetwork, type PodNetwork } from '../helpers/pod-network.js';
import { testCgroup } from '../helpers/cgroup.js';
import { requireRoot } from '../helpers/root.js';

const B1 = '198.18.0.11';
const B2 = '198.18.0.12';
const B3 = '198.18.0.13';
const NODE_A = '198.51.100.1';
const NODE_B = '198.51.100.2';
/** Also an address of pod b1 (with a server on port 80), so a connect the socket LB leaves alone is answered, from this address. */
const WEB = '10.96.0.10';

const http = [{ name: 'http', port: 80, protocol: 'TCP' }];
const dnsPorts = [{ name: 'dns', port: 53, protocol: 'UDP' }];
const podHttp = [{ name: 'http', port: 8080, protocol: 'TCP' }];
const podDns = [{ name: 'dns', port: 9000, protocol: 'UDP' }];

function cluster(): ReturnType<typeof state> {
  return state({
    services: [
      svc('web', { type: 'NodePort', clusterIP: WEB, ports: [{ ...http[0], nodePort: 30080 }] as never }),
      svc('dns', { clusterIP: '10.96.0.53', ports: dnsPorts as never }),
      svc('dns2', { clusterIP: '10.96.0.54', ports: dnsPorts as never }),
      svc('empty', { clusterIP: '10.96.0.99', ports: [...http, { name: 'dns', port: 53, protocol: 'UDP' }] as never }),
      svc('local', { clusterIP: '10.96.0.20', internalTrafficPolicy: 'Local' }),
      svc('local-none', { clusterIP: '10.96.0.21', internalTrafficPolicy: 'Local' }),
      svc('sticky', { clusterIP: '10.96.0.30', sessionAffinity: 'ClientIP' }),
      svc('ext-local', { type: 'NodePort', clusterIP: '10.96.0.40', externalTrafficPolicy: 'Local', ports: [{ ...http[0], nodePort: 30081 }] as never }),
      svc('draining', { clusterIP: '10.96.0.50' }),
    ],
    slices: [
      slice('web-1', { service: 'web', ports: podHttp, endpoints: [{ ip: B1, node: 'node-a' }, { ip: B2, node: 'node-a' }, { ip: B3, node: 'node-b' }] }),
      slice('dns-1', { service: 'dns', ports: podDns, endpoints: [{ ip: B1, node: 'node-a' }, { ip: B2, node: 'node-b' }] }),
      slice('dns2-1', { service: 'dns2', ports: podDns, endpoints: [{ ip: B3, node: 'node-b' }] }),
      slice('local-1', { service: 'local', ports: podHttp, endpoints: [{ ip: B1, node: 'node-a' }, { ip: B3, node: 'node-b' }] }),
      slice('local-none-1', { service: 'local-none', ports: podHttp, endpoints: [{ ip: B3, node: 'node-b' }] }),
      slice('sticky-1', { service: 'sticky', ports: podHttp, endpoints: [{ ip: B1, node: 'node-a' }, { ip: B2, node: 'node-a' }, { ip: B3, node: 'node-b' }] }),
      slice('ext-local-1', { service: 'ext-local', ports: podHttp, endpoints: [{ ip: B3, node: 'node-b' }] }),
      slice('draining-1', {
        service: 'draining', ports: podHttp,
        endpoints: [{ ip: B1, node: 'node-a' }, { ip: B2, node: 'node-a' }, { ip: B3, node: 'node-b', ready: false, serving: true, terminating: true }],
      }),
    ],
    nodes: [node('node-a', [NODE_A]), node('node-b', [NODE_B])],
  });
}

interface Env { net: PodNetwork; root: string; reconciler: Reconciler }

const teardowns: (() => void)[] = [];
let env: Env | undefined;

test.before(async (t) => {
  requireRoot(t);
  const cleanup = { teardown: (fn: () => void) => { teardowns.push(fn); } };
  const net = podNetwork(cleanup, { b1: B1, b2: B2, b3: B3, c1: '198.18.0.21', c2: '198.18.0.22' }, { b1: [WEB] });
  await Promise.all([...['b1', 'b2', 'b3'].map((p) => net.serve(p)), net.serve('b1', { http: 80, udp: 9053 })]);
  const root = tempPinRoot(cleanup);
  teardowns.push(() => detachSocketLb(root));
  attachSocketLb(root, net.cgroup);
  const reconciler = Reconciler.open({ bpffsRoot: root });
  teardowns.push(() => reconciler.close());
  reconciler.sync({ plan: buildPlan(cluster(), { name: 'node-a', addresses: [NODE_A] }), localNode: { name: 'node-a', address: NODE_A }, nodeAddresses: new Map([['node-a', NODE_A], ['node-b', NODE_B]]) });
  env = { net, root, reconciler };
});

test.after.always(async () => {
  for (const fn of teardowns.reverse()) {
    try { await (fn() as unknown); } catch { /* best effort: the rest still runs */ }
  }
});

function setup(): Env {
  if (!env) throw new Error('setup failed');
  return env;
}

const tcp = (pod: string, host: string, port: number, count: number, inCgroup = true): Promise<TcpResult[]> =>
  setup().net.run<TcpResult[]>(pod, { op: 'tcp', host, port, count }, { inCgroup });

const served = (rs: readonly TcpResult[]): string[] => [...new Set(rs.map((r) => r.answer?.localAddress ?? r.error ?? '?'))].sort();

test.serial('a pod in the cgroup connecting to a ClusterIP reaches the pods directly, and getpeername shows the ClusterIP', async (t) => {
  const rs = await tcp('c1', WEB, 80, 30);
  t.deepEqual(rs.filter((r) => !r.answer), []);
  t.true(served(rs).length >= 2, `spread over the backends: ${served(rs).join(', ')}`);
  t.true(served(rs).every((a) => [B1, B2, B3].includes(a)), served(rs).join(', '));
  t.true(rs.every((r) => r.answer?.remoteAddress === '198.18.0.21'), 'the pod sees the client pod itself: no NAT on the way');
  t.true(rs.every((r) => r.peer === `${WEB}:80`), JSON.stringify(rs.map((r) => r.peer)));
  t.true((readStats(setup().root)['sock_xlate'] ?? 0) >= 30);
});

test.serial('a process outside the attached cgroup is left alone', async (t) => {
  const rs = await tcp('c1', WEB, 80, 5, false);
  t.deepEqual(served(rs), [WEB], 'answered by whoever holds the address itself');
});

test.serial('UDP: one unconnected socket to two services gets every reply from the service it asked', async (t) => {
  const rs = await setup().net.run<UdpReply[]>('c1', { op: 'udp', targets: [{ host: '10.96.0.53', port: 53 }, { host: '10.96.0.54', port: 53 }], rounds: 6 });
  t.deepEqual(rs.filter((r) => r.error), []);
  t.true(rs.every((r) => r.from === r.to), JSON.stringify(rs.map((r) => [r.to, r.from])));
  // A UDP server bound to 0.0.0.0 does not know the address it was reached on: the pod's name tells.
  t.true(rs.filter((r) => r.to.startsWith('10.96.0.53')).every((r) => ['b1', 'b2'].includes(r.answer?.pod ?? '')));
  t.true(rs.filter((r) => r.to.startsWith('10.96.0.54')).every((r) => r.answer?.pod === 'b3'));
  const revnat = openPinned(setup().root, MapSpecs.sockRevnat);
  t.teardown(() => revnat.close());
  const entries = revnat.entries();
  t.true(entries.some(([, v]) => v.address === '10.96.0.53' && v.port === 53) && entries.some(([, v]) => v.address === '10.96.0.54' && v.port === 53));
  t.true(entries.every(([k]) => k.cookie !== 0n), 'keyed by socket');
});

test.serial('no endpoints: connect() is refused at once and a UDP send fails', async (t) => {
  const before = readStats(setup().root)['sock_reject'] ?? 0;
  t.deepEqual(served(await tcp('c1', '10.96.0.99', 80, 2)), ['ECONNREFUSED']);
  t.deepEqual(served(await tcp('c1', '10.96.0.21', 80, 2)), ['ECONNREFUSED'], 'internalTrafficPolicy Local without a local endpoint');
  const udp = await setup().net.run<UdpReply[]>('c1', { op: 'udp', targets: [{ host: '10.96.0.99', port: 53 }], rounds: 1 });
  t.is(udp[0]?.error, 'ECONNREFUSED');
  t.is((readStats(setup().root)['sock_reject'] ?? 0) - before, 5);
});

test.serial('the monitor sees the socket LB: a translated connect() and UDP send as traces, a refused one as a drop, each with its frontend', async (t) => {
  const s = MonitorSession.open(setup().root, ['drop', 'trace']);
  t.teardown(() => s.close());
  const rs = await tcp('c1', WEB, 80, 1);
  t.deepEqual(served(await tcp('c1', '10.96.0.99', 80, 1)), ['ECONNREFUSED']);
  const udp = await setup().net.run<UdpReply[]>('c1', { op: 'udp', targets: [{ host: '10.96.0.54', port: 53 }], rounds: 1 });
  const events = s.poll();
  const backend = rs[0]?.answer?.localAddress;
  t.like(events.find((e) => e.hook === 'sock-connect' && e.type === 'trace'), {
    reason: 'sock_xlate', verdict: 1, ifindex: 0, len: 0,
    tuple: { saddr: '0.0.0.0', daddr: backend, sport: 0, dport: 8080, proto: 6 }, frontend: { address: WEB, port: 80, option: 'socket' },
  });
  t.like(events.find((e) => e.type === 'drop'), {
    hook: 'sock-connect', reason: 'sock_reject', verdict: 0,
    tuple: { daddr: '10.96.0.99', dport: 80, proto: 6 }, frontend: { address: '10.96.0.99', port: 80, option: 'socket' },
  });
  t.is(udp[0]?.error, undefined);
  t.like(events.find((e) => e.hook === 'sock-sendmsg'), {
    type: 'trace', reason: 'sock_xlate', tuple: { daddr: B3, dport: 9000, proto: 17 }, frontend: { address: '10.96.0.54', port: 53 },
  });
  t.is(events.length, 3, JSON.stringify(events.map((e) => [e.hook, e.reason])));
  t.regex(formatText(events[0] as MonitorEvent, 0n, undefined), / TRACE sock_xlate sock-connect socket: 0\.0\.0\.0:0 -> 198\.18\.0\.1\d:8080 tcp, frontend 10\.96\.0\.10:80 \(socket\)$/);
  // The gate shut by the monitor leaving: the next connect() writes nothing (a later monitor finds no event).
  s.close();
  await tcp('c1', WEB, 80, 1);
  const later = MonitorSession.open(setup().root, ['drop', 'trace']);
  t.teardown(() => later.close());
  t.deepEqual(later.poll(), []);
});

test.serial('internalTrafficPolicy Local: only this node\'s endpoints', async (t) => {
  t.deepEqual(served(await tcp('c1', '10.96.0.20', 80, 20)), [B1]);
});

test.serial('terminating endpoints get no new connections, whether the plan or the datapath says so', async (t) => {
  t.deepEqual(served(await tcp('c1', '10.96.0.50', 80, 20)), [B1, B2], 'a terminating endpoint is not in the plan while ready ones exist');

  // What a backend flagged TERMINATING while a table still names it looks like: its slots are passed over.
  const backends = openPinned(setup().root, MapSpecs.backends);
  t.teardown(() => backends.close());
  const [id, b2] = [...backends.entries()].find(([, b]) => b.address === B2 && b.port === 8080) ?? [];
  if (id === undefined || !b2) throw new Error('no backend B2');
  backends.update(id, { ...b2, flags: b2.flags | DSRLB_BE_F_TERMINATING });
  try {
    const rs = await tcp('c1', WEB, 80, 30);
    t.deepEqual(rs.filter((r) => !r.answer), [], 'no connection fails for it');
    t.false(served(rs).includes(B2), served(rs).join(', '));
  } finally {
    backends.update(id, b2);
  }
});

test.serial('session affinity ClientIP: every connection of a network namespace goes to one backend, per namespace', async (t) => {
  const c1 = served(await tcp('c1', '10.96.0.30', 80, 12));
  const c2 = served(await tcp('c2', '10.96.0.30', 80, 12));
  t.is(c1.length, 1, c1.join(', '));
  t.is(c2.length, 1, c2.join(', '));
  const affinity = openPinned(setup().root, MapSpecs.affinity);
  t.teardown(() => affinity.close());
  const keys = affinity.entries().map(([k]) => k);
  t.is(new Set(keys.map((k) => k.netnsCookie)).size, 2, 'one entry per client namespace');
  t.true(keys.every((k) => k.client === '0.0.0.0' && k.netnsCookie !== 0n));
});

test.serial('NodePort on another node\'s address, and a Local NodePort of this node from inside (internal policy)', async (t) => {
  const other = await tcp('c1', NODE_B, 30080, 10);
  t.true(served(other).every((a) => [B1, B2, B3].includes(a)), served(other).join(', '));
  t.true(other.every((r) => r.peer === `${NODE_B}:30080`));
  // externalTrafficPolicy Local with no endpoint on node-a: outside clients are dropped here, pods follow the cluster-wide internal policy.
  t.deepEqual(served(await tcp('c1', NODE_A, 30081, 5)), [B3]);
  t.deepEqual(served(await tcp('c1', NODE_B, 30081, 5)), [B3]);
});

test.serial('--socket-lb-host-namespace-only: sockets of other namespaces are left alone', async (t) => {
  const config = openPinned(setup().root, MapSpecs.config);
  t.teardown(() => config.close());
  const cur = config.lookup(0);
  if (!cur) throw new Error('no config');
  config.update(0, { ...cur, sockNetnsCookie: netnsCookie() });
  try {
    t.deepEqual(served(await tcp('c1', WEB, 80, 3)), [WEB]);
  } finally {
    config.update(0, cur);
  }
  t.true(served(await tcp('c1', WEB, 80, 3)).every((a) => a !== WEB));
});

test.serial('attaching again replaces the programs in place, another cgroup moves them, detaching leaves sockets alone', async (t) => {
  const { root, net } = setup();
  const before = socketLbStatus(root);
  t.deepEqual(before, { attached: true, cgroup: net.cgroup, programs: ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4'] });
  t.deepEqual(Object.values(attachSocketLb(root, net.cgroup)), ['replaced', 'replaced', 'replaced', 'replaced']);
  t.true(served(await tcp('c1', WEB, 80, 3)).every((a) => a !== WEB));
  // Another --cgroup-root: new links there first, then the old ones go.
  const other = testCgroup({ teardown: (fn: () => void) => { teardowns.push(fn); } });
  t.deepEqual(Object.values(attachSocketLb(root, other)), ['moved', 'moved', 'moved', 'moved']);
  t.is(socketLbStatus(root).cgroup, other);
  t.deepEqual(served(await tcp('c1', WEB, 80, 3)), [WEB], 'the clients\' cgroup is no longer under the socket LB');
  t.deepEqual(Object.values(attachSocketLb(root, net.cgroup)), ['moved', 'moved', 'moved', 'moved']);
  t.deepEqual(detachSocketLb(root), ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4']);
  t.false(socketLbStatus(root).attached);
  t.deepEqual(served(await tcp('c1', WEB, 80, 3)), [WEB]);
  attachSocketLb(root, net.cgroup);
});
