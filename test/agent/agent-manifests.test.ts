/**
 * The real agent process on a veth in a namespace the test creates, fed a
 * manifests directory: the maps follow edits to the manifests, SIGTERM leaves
 * the programs attached and the maps pinned, `cleanup` removes both.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { currentLayoutDir, DSRLB_BE_F_TERMINATING, layoutDirs, projectRoot } from '../../src/bpf/index.js';
import { MapSpecs, openPinned } from '../../src/bpf/map-specs.js';
import type { CleanupReport } from '../../src/agent/cleanup.js';
import { socketLbStatus } from '../../src/agent/socket-lb.js';
import { testCgroup } from '../helpers/cgroup.js';
import { agentBin, agentNode, programIds, serviceYaml, spawnAgent } from '../helpers/agent.js';
import { sh } from '../helpers/netns.js';
import type { Status } from '../../src/cli/status-command.js';
import type { ServiceList } from '../../src/cli/service-list.js';
import type { PinnedMapSummary } from '../../src/bpf/map-census.js';
import { waitFor } from '../helpers/wait.js';

function manifests(port: number, backends: string[]): string {
  return `${serviceYaml({ name: 'web', clusterIP: '203.0.113.1', port, lb: '203.0.113.10', nodePort: 30080, backends })}---
apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`;
}

function frontends(root: string): string[] {
  const m = openPinned(currentLayoutDir(root), MapSpecs.services);
  try {
    return m.entries().map(([k]) => `${k.address}:${k.port}`).sort();
  } finally {
    m.close();
  }
}

function backends(root: string): string[] {
  const m = openPinned(currentLayoutDir(root), MapSpecs.backends);
  try {
    return liveBackends(m).filter(([, v]) => !(v.flags & DSRLB_BE_F_TERMINATING)).map(([, v]) => `${v.address}:${v.port}`).sort();
  } finally {
    m.close();
  }
}

test('the agent follows its manifests directory into the maps, and SIGTERM leaves the datapath serving', async (t) => {
  const { ns, root, dir } = agentNode(t);
  const file = join(dir, 'web.yaml');
  writeFileSync(file, manifests(80, ['198.18.1.10', '198.18.1.11']));
  const cgroup = testCgroup(t);
  const agent = spawnAgent(t, ns, ['--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root,
    '--cgroup-root', cgroup, '--metrics-addr', '127.0.0.1:9476', '--health-addr', '127.0.0.1:9477']);
  const log = agent.log;

  await waitFor(() => log().includes('"msg":"synced"'), 20_000, () => `agent did not sync:\n${log()}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:80', '203.0.113.1:80']);
  t.deepEqual(backends(root), ['198.18.1.10:8080', '198.18.1.11:8080']);
  const progId = programIds(ns).xdp;
  t.truthy(progId, 'xdp_lb attached to eth0');

  // An edit: new service port, one backend replaced.
  writeFileSync(file, manifests(8080, ['198.18.1.10', '198.18.1.12']));
  await waitFor(() => frontends(root).includes('203.0.113.10:8080'), 10_000, () => `maps did not follow the edit:\n${log()}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:8080', '203.0.113.1:8080']);
  await waitFor(() => backends(root).join() === '198.18.1.10:8080,198.18.1.12:8080', 10_000, () => backends(root).join());

  // A document that does not parse is reported; the last good version stays.
  writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: web\n');
  await waitFor(() => /not valid YAML|parse/i.test(log()), 10_000, () => `no parse error reported:\n${log()}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:8080', '203.0.113.1:8080']);

  // lbctl status, from inside the node's network namespace: devices, config, the agent's health.
  const status = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    'status', '--bpffs-root', root, '--health-addr', '127.0.0.1:9477', '-o', 'json'])) as Status;
  t.deepEqual(status.attachments.map((a) => [a.device, a.xdp, a.tcEgress]), [['eth0', 'native', true]]);
  t.deepEqual(status.config, { nodeAddress: '198.51.100.1', mode: 'dsr', mtu: 1500 });
  t.true(status.agent.healthy);
  t.is(status.maps.find((m) => m.name === 'lb4_services')?.entries, 4, 'with the socket LB NodePort on any node address');
  t.deepEqual(status.socketLb, { attached: true, cgroup, programs: ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4'] });
  // Every backend runs on node-a, this node: one entry under its service and one for any service each,
  // the two current ones and the replaced one, which drains (TERMINATING) with its entries.
  t.is(status.maps.find((m) => m.name === 'lb4_local_backends')?.entries, 6);
  t.true(status.totalMapMemoryBytes > 0);

  // lbctl service list: the agent's /v1/services names each frontend's Service; its backends run here, on node-a.
  const lbctlJson = (args: string[]): unknown => JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    ...args, '--bpffs-root', root, '-o', 'json']));
  const services = lbctlJson(['service', 'list', '--health-addr', '127.0.0.1:9477']) as ServiceList;
  t.is(services.source, 'agent');
  t.deepEqual(services.services.map((s) => [s.frontend, s.service, s.flags[0]]).sort(), [
    ['0.0.0.0:30080/TCP', 'shop/web', 'NodePort'], ['198.51.100.1:30080/TCP', 'shop/web', 'NodePort'],
    ['203.0.113.10:8080/TCP', 'shop/web', 'LoadBalancer'], ['203.0.113.1:8080/TCP', 'shop/web', 'ClusterIP'],
  ]);
  t.true(services.services.every((s) => s.backends.length === 2 && s.backends.every((b) => b.node === 'node-a' && b.local)), JSON.stringify(services));
  // lbctl bpf list: the agent's maps in its layout directory, the one in use.
  const maps = lbctlJson(['bpf', 'list']) as PinnedMapSummary[];
  t.like(maps.find((m) => m.name === 'lb4_services'), { entries: 4, current: true, path: join(currentLayoutDir(root), 'lb4_services') });

  t.is(await agent.stop(), 0);
  t.is(programIds(ns).xdp, progId, 'the program stays attached after SIGTERM');
  t.is(frontends(root).length, 4, 'the maps stay pinned after SIGTERM');
  t.true(socketLbStatus(root).attached, 'the socket LB stays attached after SIGTERM');

  const report = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', agentBin, 'cleanup', '--bpffs-root', root, '-o', 'json'])) as CleanupReport;
  t.deepEqual(report.socketLb, { programs: ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4'], cgroup });
  t.false(socketLbStatus(root).attached);
  t.is(programIds(ns).xdp, null, 'cleanup detached the program');
  t.deepEqual(layoutDirs(root), [], 'cleanup removed the pins of every layout');
});

test('the agent refuses bad flags with one line and exit code 2, before touching the kernel', async (t) => {
  const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn('node', [agentBin, '--node-name', 'n', '--devices', 'eth0', '--mode', 'turbo'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    p.on('exit', (code) => resolve({ code, stderr }));
  });
  t.is(out.code, 2);
  t.is(out.stderr.trim().split('\n').length, 1);
  t.regex(out.stderr, /--mode: unknown value 'turbo'/);
});
