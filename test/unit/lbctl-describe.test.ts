/** How lbctl names frontends, sizes and durations, and how `service list` joins the maps with the agent's plan (pure). */
import test from 'ava';
import {
  DSRLB_SVC_F_AFFINITY, DSRLB_SVC_F_NOEP_DROP, DSRLB_SVC_F_NOEP_REJECT, DSRLB_SVC_F_SOCKET_ONLY, DSRLB_SVC_F_SOURCE_RANGES,
  dsrlb_frontend_kind as kind, dsrlb_mode as mode,
} from '../../src/bpf/consts.generated.js';
import { servicesBody } from '../../src/agent/services-endpoint.js';
import { forwardingPath, formatBytes, formatDuration, frontendFlags } from '../../src/cli/describe.js';
import type { NodeView, ServiceEntry } from '../../src/cli/lb-list.js';
import { joinServices, serviceListRows } from '../../src/cli/service-list.js';
import { usageLine } from '../../src/cli/output.js';

test('frontend flags read like Cilium\'s: type, path, traffic policy, then what changes behaviour', (t) => {
  t.deepEqual(frontendFlags({ kind: kind.DSRLB_KIND_LOAD_BALANCER, flags: 0, protocol: 'TCP', mode: mode.DSRLB_MODE_DSR, trafficScope: 'Local' }),
    ['LoadBalancer', 'dsr', 'Local']);
  t.deepEqual(frontendFlags({ kind: kind.DSRLB_KIND_NODE_PORT, flags: DSRLB_SVC_F_AFFINITY | DSRLB_SVC_F_SOURCE_RANGES | DSRLB_SVC_F_NOEP_REJECT, protocol: 'UDP', mode: mode.DSRLB_MODE_HYBRID }),
    ['NodePort', 'snat', 'sessionAffinity', 'sourceRanges', 'no-endpoints: reject']);
  t.deepEqual(frontendFlags({ kind: kind.DSRLB_KIND_NODE_PORT, flags: DSRLB_SVC_F_SOCKET_ONLY | DSRLB_SVC_F_NOEP_DROP, protocol: 'TCP', mode: mode.DSRLB_MODE_DSR }),
    ['NodePort', 'socket-LB only', 'no-endpoints: drop']);
  // An unconfigured node: no forwarding path to name.
  t.deepEqual(frontendFlags({ kind: kind.DSRLB_KIND_CLUSTER_IP, flags: 0, protocol: 'TCP' }), ['ClusterIP']);
  t.deepEqual(frontendFlags({ kind: 99, flags: 0, protocol: 'TCP' }), ['unknown']);
});

test('hybrid mode is DSR for TCP and SNAT for the rest', (t) => {
  t.is(forwardingPath(mode.DSRLB_MODE_HYBRID, 'TCP'), 'dsr');
  t.is(forwardingPath(mode.DSRLB_MODE_HYBRID, 'UDP'), 'snat');
  t.is(forwardingPath(mode.DSRLB_MODE_SNAT, 'TCP'), 'snat');
  t.is(forwardingPath(mode.DSRLB_MODE_DSR, 'UDP'), 'dsr');
});

test('sizes and durations', (t) => {
  t.is(formatBytes(512), '512 B');
  t.is(formatBytes(1536), '1.5 KiB');
  t.is(formatBytes(3408768), '3.3 MiB');
  t.is(formatBytes(64 * 2 ** 20), '64 MiB');
  t.is(formatDuration(0), '0s');
  t.is(formatDuration(59.9), '59s');
  t.is(formatDuration(65), '1m05s');
  t.is(formatDuration(2 * 3600 + 5 * 60 + 9), '2h05m');
  t.is(formatDuration(3 * 86400 + 4 * 3600), '3d04h');
  t.is(formatDuration(-3), '0s');
});

test('a commander usage error becomes one line naming the command and its help', (t) => {
  t.is(usageLine('lbctl bpf lb list', "error: option '--backends' cannot be used with option '--revnat'\n"),
    "lbctl bpf lb list: option '--backends' cannot be used with option '--revnat' (see lbctl bpf lb list --help)");
  t.is(usageLine('lbctl', "error: unknown command 'stauts'\n(Did you mean status?)\n"),
    "lbctl: unknown command 'stauts' (Did you mean status?) (see lbctl --help)");
});

const NODES: NodeView = { mode: mode.DSRLB_MODE_DSR, localId: 7, addresses: new Map([[7, '198.51.100.1'], [8, '198.51.100.2']]) };

function entry(address: string, port: number, k: number, flags = 0): ServiceEntry {
  return {
    frontend: { address, port, protocol: 'TCP' }, kind: k, type: 'x', serviceId: 3, revnatId: 4, backendCount: 2, maglevSize: 251, flags, flagNames: [],
    backends: [
      { id: 1, address: '10.0.0.1', port: 8080, protocol: 'TCP', nodeId: 7, node: '198.51.100.1', local: true, terminating: false },
      { id: 2, address: '10.0.0.2', port: 8080, protocol: 'TCP', nodeId: 9, node: null, local: false, terminating: true },
    ],
  };
}

const AGENT = servicesBody({
  frontends: [
    { service: 'shop/web', servicePort: 'http', kind: 'NodePort', address: '198.51.100.1', port: 30080, protocol: 'TCP', backends: [],
      sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Local', noEndpointsAction: null },
  ],
  node: { name: 'node-a', address: '198.51.100.1' }, nodeAddresses: new Map([['node-b', '198.51.100.2']]), syncedAt: 0,
});

test('service list joins a frontend with the agent\'s plan by address:port/protocol, the socket LB\'s any-address NodePort by port', (t) => {
  const list = joinServices([entry('198.51.100.1', 30080, kind.DSRLB_KIND_NODE_PORT), entry('0.0.0.0', 30080, kind.DSRLB_KIND_NODE_PORT, DSRLB_SVC_F_SOCKET_ONLY),
    entry('203.0.113.9', 80, kind.DSRLB_KIND_LOAD_BALANCER)], NODES, AGENT);
  t.is(list.source, 'agent');
  t.is(list.note, null);
  t.deepEqual(list.services.map((s) => [s.frontend, s.service, s.flags]), [
    ['198.51.100.1:30080/TCP', 'shop/web', ['NodePort', 'dsr', 'Local']],
    ['0.0.0.0:30080/TCP', 'shop/web', ['NodePort', 'socket-LB only', 'Local']],
    ['203.0.113.9:80/TCP', null, ['LoadBalancer', 'dsr']],
  ]);
  // Node names from the agent; an id no map knows stays null.
  t.deepEqual(list.services[0]?.backends.map((b) => [b.address, b.state, b.node, b.local]), [
    ['10.0.0.1:8080/TCP', 'active', 'node-a', true], ['10.0.0.2:8080/TCP', 'terminating', null, false],
  ]);
  t.deepEqual(serviceListRows(list).slice(0, 2), [
    ['3', 'shop/web:http', '198.51.100.1:30080/TCP', '[NodePort, dsr, Local]', '1 => 10.0.0.1:8080/TCP (active, node-a, this node)'],
    ['', '', '', '', '2 => 10.0.0.2:8080/TCP (terminating)'],
  ]);
});

test('service list without the agent: the maps alone, node addresses, and a note saying what is missing', (t) => {
  const list = joinServices([entry('198.51.100.1', 30080, kind.DSRLB_KIND_NODE_PORT)], NODES, null, '127.0.0.1:9964: connect ECONNREFUSED');
  t.is(list.source, 'maps');
  t.regex(list.note ?? '', /not reachable \(127\.0\.0\.1:9964: connect ECONNREFUSED\): Service names and traffic policies are unknown/);
  t.like(list.services[0], { service: null, servicePort: null, flags: ['NodePort', 'dsr'] });
  t.is(list.services[0]?.backends[0]?.node, '198.51.100.1');
  t.is(serviceListRows(list)[0]?.[1], '-');
});

test('the agent\'s /v1/services before its first sync is empty, not an error', (t) => {
  t.deepEqual(servicesBody(undefined), { syncedAt: null, node: null, nodes: {}, frontends: [] });
  t.deepEqual(AGENT.nodes, { 'node-b': '198.51.100.2', 'node-a': '198.51.100.1' });
});
