/** lbctl reads what is pinned: the real CLI, run as a separate process. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BpfObjectFile, BpfObjects, projectRoot } from '../../src/bpf/index.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import type { ServiceEntry } from '../../src/cli/lb-list.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Frontend, Plan } from '../../src/plan/types.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const run = promisify(execFile);
const lbctl = `${projectRoot}/bin/lbctl.js`;

async function lbctlRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [lbctl, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

function frontend(address: string, port: number, protocol: 'TCP' | 'UDP', backends: string[], kind: Frontend['kind'] = 'LoadBalancer'): Frontend {
  return {
    service: 'shop/web', servicePort: protocol === 'TCP' ? 'http' : 'dns', kind, address, port, protocol,
    backends: backends.map((b) => ({ address: b, port: 8080, nodeName: 'node-b', terminating: false })),
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: null,
  };
}

test('bpf lb list shows what the reconciler pinned: services with backends, backends, revnat, Maglev, connections', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const reconciler = Reconciler.open({ bpffsRoot: root });
  t.teardown(() => reconciler.close());
  const plan: Plan = {
    frontends: [frontend('203.0.113.10', 80, 'TCP', ['198.18.2.10', '198.18.2.11']), frontend('203.0.113.11', 53, 'UDP', ['198.18.2.12']),
      frontend('10.96.0.10', 53, 'UDP', ['198.18.2.12'], 'ClusterIP')],
    healthCheckNodePorts: [],
  };
  reconciler.sync({ plan, localNode: { name: 'node-a', address: '198.51.100.1' }, nodeAddresses: new Map([['node-b', '198.51.100.2']]) });
  mapOf(obj, MapSpecs.flows).update(
    { saddr: '198.51.100.100', daddr: '203.0.113.10', sport: 40000, dport: 80, proto: 6, flags: 0 }, { backendId: 1, serviceId: 1, backendGeneration: 1, revnatId: 1, frontendGeneration: 1, state: 2, flags: 0, createdS: 1 });
  mapOf(obj, MapSpecs.flowsNew).update(
    { saddr: '198.51.100.101', daddr: '203.0.113.10', sport: 40001, dport: 80, proto: 6, flags: 0 }, { backendId: 2, serviceId: 1, backendGeneration: 1, revnatId: 1, frontendGeneration: 1, state: 3, flags: 1, createdS: 1 });
  mapOf(obj, MapSpecs.snat).update(
    { saddr: '198.51.100.100', daddr: '203.0.113.10', sport: 40000, dport: 80, proto: 6, flags: 0 }, { saddr: '198.51.100.1', daddr: '198.18.2.10', sport: 61000, dport: 8080 });
  mapOf(obj, MapSpecs.snatNew).update(
    { saddr: '198.18.2.11', daddr: '198.51.100.1', sport: 8080, dport: 61001, proto: 6, flags: 1 }, { saddr: '203.0.113.10', daddr: '198.51.100.101', sport: 80, dport: 40001 });

  const text = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^SERVICE ADDRESS\s+BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)\s+TYPE/);
  t.regex(text.stdout, /203\.0\.113\.10:80\/TCP\s+0\.0\.0\.0:0 \(\d+\) \(0\) \[[^\]]*\]\s+LoadBalancer/);
  t.regex(text.stdout, /10\.96\.0\.10:53\/UDP\s+0\.0\.0\.0:0 \(\d+\) \(0\) \[[^\]]*\]\s+ClusterIP/);
  t.regex(text.stdout, /198\.18\.2\.1[01]:8080\/TCP \(\d+\) \(2\)/);
  t.regex(text.stdout, /203\.0\.113\.11:53\/UDP/);

  const json = JSON.parse((await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root, '-o', 'json'])).stdout) as ServiceEntry[];
  t.deepEqual(json.map((s) => [s.frontend, s.type, s.backends.map((b) => b.address).sort()]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))), [
    [{ address: '10.96.0.10', port: 53, protocol: 'UDP' }, 'ClusterIP', ['198.18.2.12']],
    [{ address: '203.0.113.10', port: 80, protocol: 'TCP' }, 'LoadBalancer', ['198.18.2.10', '198.18.2.11']],
    [{ address: '203.0.113.11', port: 53, protocol: 'UDP' }, 'LoadBalancer', ['198.18.2.12']],
  ]);

  const backends = JSON.parse((await lbctlRun(['bpf', 'lb', 'list', '--backends', '--bpffs-root', root, '-o', 'json'])).stdout) as { address: string; terminating: boolean }[];
  t.deepEqual(backends.map((b) => b.address).sort(), ['198.18.2.10', '198.18.2.11', '198.18.2.12']);
  const revnat = JSON.parse((await lbctlRun(['bpf', 'lb', 'list', '--revnat', '--bpffs-root', root, '-o', 'json'])).stdout) as { address: string; protocol: string }[];
  t.deepEqual(revnat.map((r) => `${r.address}/${r.protocol}`).sort(), ['10.96.0.10/UDP', '203.0.113.10/TCP', '203.0.113.11/UDP']);

  const maglev = JSON.parse((await lbctlRun(['bpf', 'lb', 'list', '--maglev', '203.0.113.10:80/TCP', '--bpffs-root', root, '-o', 'json'])).stdout) as { size: number; table: number[]; share: Record<string, number> };
  t.is(maglev.table.length, maglev.size);
  t.is(Object.keys(maglev.share).length, 2);
  t.true(Object.values(maglev.share).every((n) => Math.abs(n - maglev.size / 2) <= 1), JSON.stringify(maglev.share));

  const ct = await lbctlRun(['bpf', 'ct', 'list', '--bpffs-root', root]);
  t.is(ct.code, 0, ct.stderr);
  t.regex(ct.stdout, /lb4_flows\s+TCP 198\.51\.100\.100:40000 -> 203\.0\.113\.10:80\s+backend 1 \(service 1\)\s+\S+\s+LRU\s+ESTABLISHED/);
  t.regex(ct.stdout, /lb4_flows_new\s+TCP 198\.51\.100\.101:40001 -> 203\.0\.113\.10:80\s+backend 2 \(service 1\)\s+\S+\s+LRU\s+UNCONFIRMED,FIN,CLOSING/);
  t.regex(ct.stdout, /lb4_snat\s+TCP 198\.51\.100\.100:40000 -> 203\.0\.113\.10:80\s+rewrite to 198\.51\.100\.1:61000 -> 198\.18\.2\.10:8080\s+-\s+LRU\s+ESTABLISHED/);
  t.regex(ct.stdout, /lb4_snat_new\s+TCP 198\.18\.2\.11:8080 -> 198\.51\.100\.1:61001 \[reply\]\s+rewrite to 203\.0\.113\.10:80 -> 198\.51\.100\.101:40001\s+-\s+LRU\s+UNCONFIRMED/);
  const missing = await lbctlRun(['bpf', 'lb', 'list', '--maglev', '192.0.2.1:1', '--bpffs-root', root]);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no service '192\.0\.2\.1:1'/);
});

test('bpf lb list on an empty map prints only the header', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root }).close();
  const out = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root]);
  t.is(out.code, 0);
  t.is(out.stdout.trim().split('\n').length, 1);
});

test('bpf lb list with nothing pinned: one line naming the path and what to check, exit 1', async (t) => {
  const out = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', '/sys/fs/bpf/dsrlb-nothing-here']);
  t.is(out.code, 1);
  t.is(out.stderr.trim().split('\n').length, 1);
  t.regex(out.stderr, /map \w+ is not pinned.*--bpffs-root/);
});

test('a usage error exits 2', async (t) => {
  const out = await lbctlRun(['bpf', 'lb', 'list', '--no-such-flag']);
  t.is(out.code, 2);
  t.regex(out.stderr, /unknown option/);
});

test('version prints dsrlb, libbpf and kernel versions', async (t) => {
  const out = await lbctlRun(['version', '-o', 'json']);
  t.is(out.code, 0, out.stderr);
  const v = JSON.parse(out.stdout) as Record<string, string>;
  t.regex(v['libbpf'] ?? '', /^v?1\.\d+/);
  t.regex(v['dsrlb'] ?? '', /^\d+\.\d+\.\d+/);
  t.truthy(v['kernel']);
});
