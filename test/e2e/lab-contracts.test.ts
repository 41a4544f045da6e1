/**
 * The lab's pure parts against the contracts they rely on (no root, no
 * kernel): the manifests the agents read plan to the frontends the tests
 * use; the agent command line uses docs/design.md §4's flags; the topology keeps
 * to the documentation ranges; iperf3's JSON is read right.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAgentConfig } from '../../src/agent/config.js';
import { runPlanCommand } from '../../src/cli/plan-command.js';
import { agentArgv } from '../../src/lab/agents.js';
import { parseIperf } from '../../src/lab/iperf.js';
import { LAB_HEALTH_CHECK_NODE_PORT, LAB_NODE_PORT, LAB_VIP, labManifests, type LabServiceOptions } from '../../src/lab/manifests.js';
import { labTopology } from '../../src/lab/topology.js';

const topo = labTopology({ id: 'unit', nodes: 3, podsPerNode: 2 });

async function plan(t: { teardown(fn: () => void): void }, opts: LabServiceOptions, node = 'node-a'): Promise<Awaited<ReturnType<typeof runPlanCommand>>> {
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-lab-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'lab.yaml'), labManifests(topo, opts));
  return runPlanCommand({ manifests: dir, nodeName: node });
}

test('the lab manifests plan to the VIP and NodePorts with every pod as a backend', async (t) => {
  const { plan: p, diagnostics } = await plan(t, {});
  t.deepEqual(diagnostics, []);
  const vip = p.frontends.find((f) => f.address === LAB_VIP && f.port === 80 && f.protocol === 'TCP');
  t.is(vip?.kind, 'LoadBalancer');
  t.deepEqual(vip?.backends.map((b) => `${b.address}:${b.port}@${b.nodeName}`).sort(), [
    '198.18.1.10:8080@node-a', '198.18.1.11:8080@node-a', '198.18.2.10:8080@node-b',
    '198.18.2.11:8080@node-b', '198.18.3.10:8080@node-c', '198.18.3.11:8080@node-c',
  ]);
  t.truthy(p.frontends.find((f) => f.address === LAB_VIP && f.port === 53 && f.protocol === 'UDP'));
  t.truthy(p.frontends.find((f) => f.kind === 'NodePort' && f.address === '198.51.100.1' && f.port === LAB_NODE_PORT));
});

test('lab service options: removed, terminating, only some nodes, source ranges', async (t) => {
  const { plan: p } = await plan(t, { without: ['web-a1'], terminating: ['web-b2'], onlyNodes: ['node-a', 'node-b'], loadBalancerSourceRanges: ['192.0.2.0/24'] });
  const vip = p.frontends.find((f) => f.address === LAB_VIP && f.port === 80);
  // A terminating endpoint serves new connections only when no endpoint is ready (kube-proxy's fallback).
  t.deepEqual(vip?.backends.map((b) => b.address).sort(), ['198.18.1.11', '198.18.2.10']);
  t.deepEqual(vip?.sourceRanges, ['192.0.2.0/24']);
});

test('externalTrafficPolicy Local: health-check node port with local ready endpoints per node', async (t) => {
  const opts: LabServiceOptions = { externalTrafficPolicy: 'Local', without: ['web-c1', 'web-c2'] };
  const onA = await plan(t, opts, 'node-a');
  const onC = await plan(t, opts, 'node-c');
  t.deepEqual(onA.plan.healthCheckNodePorts.map((h) => [h.port, h.localReadyEndpoints]), [[LAB_HEALTH_CHECK_NODE_PORT, 2]]);
  t.deepEqual(onC.plan.healthCheckNodePorts.map((h) => [h.port, h.localReadyEndpoints]), [[LAB_HEALTH_CHECK_NODE_PORT, 0]]);
  t.is(onC.plan.frontends.find((f) => f.address === LAB_VIP && f.port === 80)?.noEndpointsAction, 'drop');
});

test('the agent command line is the documented flags, and the agent accepts it', (t) => {
  const node = topo.nodes[1];
  if (!node) throw new Error('no node-b');
  const argv = agentArgv(topo, node, { mode: 'hybrid', mtu: 1400 });
  const flags = Object.fromEntries(argv.slice(2).reduce<[string, string][]>((acc, v, i, all) => (i % 2 === 0 ? [...acc, [v, all[i + 1] ?? '']] : acc), []));
  t.deepEqual(flags, {
    '--manifests': '/tmp/dsrlb-lab-unit/manifests/node-b', '--node-name': 'node-b', '--devices': 'eth0', '--mode': 'hybrid',
    '--bpffs-root': '/sys/fs/bpf/dsrlb-lab-unit/node-b', '--node-address': '198.51.100.2',
    '--cgroup-root': '/sys/fs/cgroup/dsrlb-lab-unit/node-b', '--metrics-addr': '198.51.100.2:9476', '--health-addr': '127.0.0.1:9477', '--log-format': 'json', '--mtu': '1400',
  });
  const config = parseAgentConfig({
    manifests: flags['--manifests'], nodeName: flags['--node-name'], devices: flags['--devices'], mode: flags['--mode'],
    bpffsRoot: flags['--bpffs-root'], nodeAddress: flags['--node-address'], metricsAddr: flags['--metrics-addr'],
    healthAddr: flags['--health-addr'], mtu: flags['--mtu'], cgroupRoot: flags['--cgroup-root'], logFormat: flags['--log-format'],
  });
  t.is(config.logFormat, 'json');
  t.is(config.mode, 'hybrid');
  t.is(config.cgroupRoot, '/sys/fs/cgroup/dsrlb-lab-unit/node-b');
  t.true(config.socketLb);
  t.is(config.mtu, 1400);
});

test('topology: documentation ranges only, names under the lab prefix', (t) => {
  t.is(topo.client.address, '198.51.100.100');
  t.deepEqual(topo.nodes.map((n) => `${n.name} ${n.address} ${n.podCidr}`), [
    'node-a 198.51.100.1 198.18.1.0/24', 'node-b 198.51.100.2 198.18.2.0/24', 'node-c 198.51.100.3 198.18.3.0/24',
  ]);
  const namespaces = [topo.fabricNs, topo.client.ns, ...topo.nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])];
  t.true(namespaces.every((ns) => ns.startsWith('dsrlb-unit-')));
  t.throws(() => labTopology({ id: 'Bad-Id' }), { instanceOf: RangeError });
});

test('iperf3 -R -J: throughput from what was received, retransmits from the sender', (t) => {
  const r = parseIperf(JSON.stringify({
    end: { sum_sent: { bytes: 1_000_000, retransmits: 7 }, sum_received: { bytes: 999_000, seconds: 8, bits_per_second: 999_000 } },
  }));
  t.deepEqual(r, { bitsPerSecond: 999_000, bytes: 999_000, retransmits: 7, seconds: 8 });
  t.throws(() => parseIperf(JSON.stringify({ error: 'unable to connect to server' })), { message: /unable to connect/ });
});
