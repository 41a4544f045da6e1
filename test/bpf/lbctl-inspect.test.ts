/**
 * lbctl's inspection commands on maps the real objects and reconciler pinned:
 * `bpf list` (every map under the root and its layout directories),
 * `service list` (the maps joined with the agent's /v1/services), `bpf lb
 * list --revnat/--backends` (protocols, node addresses), `bpf ct list`
 * (age, expiry, state); and the CLI-wide rules (usage errors, --version,
 * a closed pipe). The real CLI, run as a separate process.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { BpfObjectFile, BpfObjects, DSRLB_BE_F_TERMINATING, dsrlb_mode, projectRoot } from '../../src/bpf/index.js';
import type { PinnedMapSummary } from '../../src/bpf/map-census.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { closeServer, startHealthServer } from '../../src/agent/health-server.js';
import { servicesRoutes } from '../../src/agent/services-endpoint.js';
import type { ServiceList } from '../../src/cli/service-list.js';
import type { ConnectionEntry } from '../../src/cli/ct-list.js';
import { nodeIdForAddress } from '../../src/reconcile/node-ids.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Frontend, Plan } from '../../src/plan/types.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const run = promisify(execFile);
const lbctl = `${projectRoot}/bin/lbctl.js`;

async function lbctlRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [lbctl, ...args], { maxBuffer: 64 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const LOCAL = { name: 'node-a', address: '198.51.100.1' };
const NODES = new Map([['node-b', '198.51.100.2']]);

function frontend(over: Partial<Frontend> & Pick<Frontend, 'address' | 'port' | 'protocol'>): Frontend {
  return {
    service: 'shop/web', servicePort: 'http', kind: 'LoadBalancer',
    backends: [{ address: '198.18.2.10', port: 8080, nodeName: 'node-b', terminating: false }],
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: null, ...over,
  };
}

/** A DNS Service on one address, TCP and UDP (two revnat entries, one address:port); a Local web Service with a backend here. */
const PLAN: Plan = {
  frontends: [
    frontend({ service: 'kube-system/dns', servicePort: 'dns-tcp', kind: 'ClusterIP', address: '10.96.50.5', port: 53, protocol: 'TCP' }),
    frontend({ service: 'kube-system/dns', servicePort: 'dns', kind: 'ClusterIP', address: '10.96.50.5', port: 53, protocol: 'UDP' }),
    frontend({
      address: '203.0.113.10', port: 80, protocol: 'TCP', trafficScope: 'Local', sessionAffinityTimeoutSeconds: 100,
      backends: [{ address: '198.18.1.10', port: 8080, nodeName: 'node-a', terminating: false }, { address: '198.18.2.11', port: 8080, nodeName: 'node-b', terminating: true }],
    }),
  ],
  healthCheckNodePorts: [],
};

/** Loads xdp_lb with its maps pinned in `dir` and syncs PLAN into them. */
function programmed(t: Parameters<typeof requireRoot>[0], dir: string, maxEntries?: Record<string, number>): BpfObjectFile {
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: dir, ...(maxEntries ? { maxEntries } : {}) });
  t.teardown(() => obj.close());
  const reconciler = Reconciler.open({ bpffsRoot: dir });
  t.teardown(() => reconciler.close());
  reconciler.sync({ plan: PLAN, localNode: LOCAL, nodeAddresses: NODES });
  // What the agent writes once the maps hold a plan: the node's id, address and mode.
  mapOf(obj, MapSpecs.config).update(0, {
    nodeId: nodeIdForAddress(LOCAL.address), nodeAddress: LOCAL.address, mode: dsrlb_mode.DSRLB_MODE_DSR, mtu: 1500, genevePort: 6081,
    optClass: 0, snatPortMin: 0, snatPortMax: 0, replyRate: 0, replyBurst: 0, localEpoch: 0, sockNetnsCookie: 0n,
  });
  // The reconciler marks a backend terminating when it leaves the plan (src/reconcile/lifecycle.ts): here, at once.
  const backends = mapOf(obj, MapSpecs.backends);
  for (const [id, b] of liveBackends(backends)) {
    if (b.address === '198.18.2.11') backends.update(id, { ...b, flags: b.flags | DSRLB_BE_F_TERMINATING });
  }
  return obj;
}

test('bpf list: every map of every layout directory with type, entries, max entries, memory and pin; a 65,536-entry LRU counted in batches', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const older = join(root, 'v00000000000a');
  const current = join(root, 'v00000000000b');
  mkdirSync(older);
  mkdirSync(current);
  BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: older }).close();
  const obj = programmed(t, current, { lb4_flows: 131072 });
  const flows = mapOf(obj, MapSpecs.flows);
  const many = Array.from({ length: 65536 }, (_, i) => [
    { saddr: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, daddr: '203.0.113.10', sport: 40000, dport: 80, proto: 6, flags: 0 },
    { backendId: 1, serviceId: 1, backendGeneration: 1, frontendGeneration: 1, revnatId: 1, state: 2, flags: 0, createdS: 1 },
  ] as const);
  for (let i = 0; i < many.length; i += 8192) flows.updateBatch(many.slice(i, i + 8192));
  const held = [...flows.keys()].length;

  const started = performance.now();
  const out = await lbctlRun(['bpf', 'list', '--bpffs-root', root, '-o', 'json']);
  t.log(`lbctl bpf list -o json (two layouts, ${held} flows): ${(performance.now() - started).toFixed(0)} ms, process start included`);
  t.is(out.code, 0, out.stderr);
  const maps = JSON.parse(out.stdout) as PinnedMapSummary[];
  const at = (dir: string, name: string): PinnedMapSummary | undefined => maps.find((m) => m.path === join(dir, name));

  t.true(held > 60000, `${held} flows held`);
  t.like(at(current, 'lb4_flows'), { type: 'lru_hash', entries: held, maxEntries: 131072, current: true, layout: 'v00000000000b' });
  t.like(at(current, 'lb4_services'), { type: 'hash', entries: 3, current: true });
  // lb4_backends is an array: its entries are the live slots (a backend per address, port and protocol: four).
  t.like(at(current, 'lb4_backends'), { type: 'array', entries: 4 });
  t.like(at(current, 'config'), { type: 'array', entries: 1, maxEntries: 1 });
  // An array of maps: the slots holding a table (lb4_maglev_none, a table taken out, is none).
  t.like(at(current, 'lb4_maglev'), { type: 'array_of_maps', entries: 3, maxEntries: 65536 });
  t.like(at(current, 'lb4_maglev_none'), { type: 'array', maxEntries: 1 });
  // lb4_revnat is an array too: the revnat ids in use.
  t.like(at(current, 'lb4_revnat'), { type: 'array', entries: 3 });
  t.like(at(older, 'lb4_services'), { entries: 0, current: false, layout: 'v00000000000a' });
  // The kernel's figure: an LPM trie counts only its nodes (0 while empty); socket storage has no max_entries and no count.
  t.true(maps.filter((m) => m.type !== 'lpm_trie').every((m) => m.memoryBytes > 0), 'every map has the kernel\'s memory figure');
  t.like(at(current, 'lb4_sock_peer'), { type: 'sk_storage', entries: null });
  t.true((at(current, 'lb4_flows')?.memoryBytes ?? 0) > (at(older, 'lb4_flows')?.memoryBytes ?? 0), 'more max entries, more memory');
  const firstOther = maps.findIndex((m) => !m.current);
  t.true(firstOther > 0 && maps.slice(firstOther).every((m) => !m.current), 'the layout in use comes first');

  const text = await lbctlRun(['bpf', 'list', '--bpffs-root', root]);
  t.regex(text.stdout, /^NAME\s+TYPE\s+ENTRIES\s+MAX ENTRIES\s+MEMORY\s+PIN/);
  t.regex(text.stdout, new RegExp(`lb4_flows\\s+lru_hash\\s+${held}\\s+131072\\s+[\\d.]+ MiB\\s+${current}/lb4_flows\\n`));
  t.regex(text.stdout, new RegExp(`${older}/lb4_flows \\(not the layout in use\\)`));

  const none = await lbctlRun(['bpf', 'list', '--bpffs-root', join(root, 'nothing')]);
  t.is(none.code, 1);
  t.regex(none.stderr, /^lbctl: .*nothing: no map is pinned here \(is the agent running/);
});

test('service list: Service names, types and flags from the agent joined with the maps; the maps alone with a note when the agent is down', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  programmed(t, root);
  const server = await startHealthServer({ host: '127.0.0.1', port: 0 }, {},
    { version: 'test', source: () => undefined, programmed: () => ({ services: 0, frontends: 0 }) }, () => undefined,
    servicesRoutes(() => ({ frontends: PLAN.frontends, node: LOCAL, nodeAddresses: NODES, syncedAt: Date.now() })));
  t.teardown(() => closeServer(server));
  const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  const json = await lbctlRun(['service', 'list', '--bpffs-root', root, '--health-addr', addr, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const list = JSON.parse(json.stdout) as ServiceList;
  t.is(list.source, 'agent');
  const web = list.services.find((s) => s.frontend === '203.0.113.10:80/TCP');
  t.like(web, { service: 'shop/web', servicePort: 'http', flags: ['LoadBalancer', 'dsr', 'Local', 'sessionAffinity'] });
  t.deepEqual(web?.backends.map((b) => [b.address, b.state, b.node, b.local]).sort(), [
    ['198.18.1.10:8080/TCP', 'active', 'node-a', true],
    ['198.18.2.11:8080/TCP', 'terminating', 'node-b', false],
  ]);
  t.like(list.services.find((s) => s.frontend === '10.96.50.5:53/UDP'), { service: 'kube-system/dns', servicePort: 'dns', flags: ['ClusterIP', 'dsr'] });

  const text = await lbctlRun(['service', 'list', '--bpffs-root', root, '--health-addr', addr]);
  t.regex(text.stdout, /^ID\s+SERVICE\s+FRONTEND\s+TYPE\s+BACKENDS/);
  t.regex(text.stdout, /shop\/web:http\s+203\.0\.113\.10:80\/TCP\s+\[LoadBalancer, dsr, Local, sessionAffinity\]\s+\d+ => 198\.18\.\d\.1\d:8080\/TCP \((active, node-a, this node|terminating, node-b)\)/);
  t.is(text.stderr, '');

  await closeServer(server);
  const alone = await lbctlRun(['service', 'list', '--bpffs-root', root, '--health-addr', addr, '-o', 'json']);
  t.is(alone.code, 0, alone.stderr);
  const maps = JSON.parse(alone.stdout) as ServiceList;
  t.is(maps.source, 'maps');
  t.regex(maps.note ?? '', /agent is not reachable .*showing the maps alone/);
  t.like(maps.services.find((s) => s.frontend === '203.0.113.10:80/TCP'), { service: null, flags: ['LoadBalancer', 'dsr', 'sessionAffinity'] });
  t.deepEqual(maps.services.find((s) => s.frontend === '203.0.113.10:80/TCP')?.backends.map((b) => b.node).sort(), ['198.51.100.1', '198.51.100.2']);
  const aloneText = await lbctlRun(['service', 'list', '--bpffs-root', root, '--health-addr', addr]);
  t.regex(aloneText.stderr, /^lbctl: note: the agent is not reachable/);
  t.regex(aloneText.stdout, /\s-\s+203\.0\.113\.10:80\/TCP/);
});

test('bpf lb list: --revnat shows each entry\'s protocol, --backends each backend\'s node address, and two views at once are a usage error', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  programmed(t, root);
  const revnat = await lbctlRun(['bpf', 'lb', 'list', '--revnat', '--bpffs-root', root]);
  t.is(revnat.code, 0, revnat.stderr);
  t.regex(revnat.stdout, /10\.96\.50\.5:53\/TCP\n/);
  t.regex(revnat.stdout, /10\.96\.50\.5:53\/UDP\n/);

  const backends = await lbctlRun(['bpf', 'lb', 'list', '--backends', '--bpffs-root', root]);
  t.regex(backends.stdout, /^BACKEND ID\s+ADDRESS\s+NODE\s+STATE/);
  t.regex(backends.stdout, /198\.18\.1\.10:8080\/TCP\s+198\.51\.100\.1 \(this node\)\s+active/);
  t.regex(backends.stdout, /198\.18\.2\.11:8080\/TCP\s+198\.51\.100\.2\s+terminating/);

  const lb = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root]);
  t.regex(lb.stdout, /203\.0\.113\.10:80\/TCP\s+0\.0\.0\.0:0 \(\d+\) \(0\) \[LoadBalancer, dsr, sessionAffinity\]\s+LoadBalancer/);

  for (const views of [['--backends', '--revnat'], ['--revnat', '--maglev', '1'], ['--maglev', '1', '--backends']]) {
    const out = await lbctlRun(['bpf', 'lb', 'list', ...views, '--bpffs-root', root]);
    t.is(out.code, 2, views.join(' '));
    t.is(out.stdout, '');
    t.regex(out.stderr, /^lbctl bpf lb list: option '--\w+.*' cannot be used with option '--\w+.*' \(see lbctl bpf lb list --help\)\n$/);
  }
});

test('bpf ct list: a flow\'s age and state, an affinity entry\'s idle time and expiry', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = programmed(t, root);
  const nowS = Number(process.hrtime.bigint() / 1_000_000_000n);
  mapOf(obj, MapSpecs.flows).update({ saddr: '192.0.2.7', daddr: '203.0.113.10', sport: 40000, dport: 80, proto: 6, flags: 0 },
    { backendId: 1, serviceId: 1, backendGeneration: 1, frontendGeneration: 1, revnatId: 1, state: 3, flags: 0, createdS: nowS - 65 });
  const web = mapOf(obj, MapSpecs.services).lookup({ address: '203.0.113.10', port: 80, proto: 6 });
  mapOf(obj, MapSpecs.affinity).update({ client: '192.0.2.7', serviceId: web?.serviceId ?? 0, netnsCookie: 0n },
    { lastUsedNs: process.hrtime.bigint() - 10_000_000_000n, backendId: 1, backendGeneration: 1 });

  const json = await lbctlRun(['bpf', 'ct', 'list', '--bpffs-root', root, '-o', 'json']);
  t.is(json.code, 0, json.stderr);
  const entries = JSON.parse(json.stdout) as ConnectionEntry[];
  const flow = entries.find((e) => e.table === 'lb4_flows');
  t.like(flow, { state: 'FIN', expiresInSeconds: null });
  t.true((flow?.ageSeconds ?? 0) >= 65 && (flow?.ageSeconds ?? 0) < 65 + 60, String(flow?.ageSeconds));
  const affinity = entries.find((e) => e.table === 'lb4_affinity');
  t.true((affinity?.idleSeconds ?? -1) >= 10 && (affinity?.expiresInSeconds ?? 0) <= 90, JSON.stringify(affinity));

  const text = await lbctlRun(['bpf', 'ct', 'list', '--bpffs-root', root]);
  t.regex(text.stdout, /^TABLE\s+TUPLE\s+ENTRY\s+AGE\s+EXPIRES\s+STATE/);
  t.regex(text.stdout, /lb4_flows\s+TCP 192\.0\.2\.7:40000 -> 203\.0\.113\.10:80\s+backend 1 \(service 1\)\s+1m\d\ds\s+LRU\s+FIN/);
  t.regex(text.stdout, /lb4_affinity\s+192\.0\.2\.7 -> service \d+\s+backend 1\s+idle \d+s\s+1m[23]\ds\s+-/);
});

test('lbctl --version prints the version; a usage error is one line, exit 2', async (t) => {
  const v = await lbctlRun(['--version']);
  t.is(v.code, 0);
  t.regex(v.stdout, /^lbctl \d+\.\d+\.\d+\n$/);
  const bad = await lbctlRun(['service', 'list', '-o', 'yaml', '--bpffs-root', '/nonexistent']);
  t.is(bad.code, 2);
  t.is(bad.stderr.split('\n').filter(Boolean).length, 1);
  t.regex(bad.stderr, /unknown output format 'yaml' \(use -o json or -o text\)/);
  const unknown = await lbctlRun(['bpf', 'nope']);
  t.is(unknown.code, 2);
  t.is(unknown.stderr, "lbctl bpf: unknown command 'nope' (see lbctl bpf --help)\n");
});

test('output to a closed pipe ends quietly with exit 0', async (t) => {
  // A plan big enough to need several writes: the reader is gone before the first.
  const dir = mkdtempSync(join(tmpdir(), 'lbctl-pipe-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'services.yaml'), Array.from({ length: 2000 }, (_, i) => [
    'apiVersion: v1', 'kind: Service', `metadata: {name: s${i}, namespace: ns}`,
    `spec: {type: ClusterIP, clusterIP: 10.96.${Math.floor(i / 250)}.${(i % 250) + 1}, ports: [{name: http, port: 80, protocol: TCP}]}`,
  ].join('\n')).concat(['apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, address: 192.0.2.1}]}'])
    .join('\n---\n'));
  const child = spawn('node', [lbctl, 'plan', '--manifests', dir, '--node-name', 'n1', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  t.is(code, 0);
  t.is(stderr, '');
});
