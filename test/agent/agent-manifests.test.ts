/**
 * The real agent process on a veth in a namespace the test creates, fed a
 * manifests directory: the maps follow edits to the manifests, SIGTERM leaves
 * the programs attached and the maps pinned, `cleanup` removes both.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { cgroup2Mount, DSRLB_BE_F_TERMINATING, projectRoot } from '../../src/bpf/index.js';
import type { CleanupReport } from '../../src/agent/cleanup.js';
import { socketLbStatus } from '../../src/agent/socket-lb.js';
import { MapSpecs, openPinned } from '../../src/bpf/map-specs.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { sh } from '../helpers/netns.js';
import type { Status } from '../../src/cli/status-command.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const agentBin = join(projectRoot, 'bin', 'dsrlb-agent.js');

function manifests(port: number, backends: string[]): string {
  return `
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  type: LoadBalancer
  clusterIP: 203.0.113.1
  ports: [{ name: http, port: ${port}, targetPort: 8080, nodePort: 30080 }]
status: { loadBalancer: { ingress: [{ ip: 203.0.113.10 }] } }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints:
${backends.map((a) => `  - { addresses: [${a}], nodeName: node-a }`).join('\n')}
---
apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`;
}

function frontends(root: string): string[] {
  const m = openPinned(root, MapSpecs.services);
  try {
    return m.entries().map(([k]) => `${k.address}:${k.port}`).sort();
  } finally {
    m.close();
  }
}

function backends(root: string): string[] {
  const m = openPinned(root, MapSpecs.backends);
  try {
    return liveBackends(m).filter(([, v]) => !(v.flags & DSRLB_BE_F_TERMINATING)).map(([, v]) => `${v.address}:${v.port}`).sort();
  } finally {
    m.close();
  }
}

function xdpProgId(ns: string): number | undefined {
  const [link] = JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as { xdp?: { prog?: { id: number } } }[];
  return link?.xdp?.prog?.id;
}

test('the agent follows its manifests directory into the maps, and SIGTERM leaves the datapath serving', async (t) => {
  requireRoot(t);
  const ns = `dsrlbt-agent-${randomBytes(3).toString('hex')}`;
  sh('ip', ['netns', 'add', ns]);
  t.teardown(() => sh('ip', ['netns', 'del', ns]));
  sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  for (const dev of ['lo', 'eth0', 'peer0']) sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);

  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yaml');
  writeFileSync(file, manifests(80, ['198.18.1.10', '198.18.1.11']));
  const root = tempPinRoot(t);
  // Never the machine's cgroup2 root: the socket LB would translate every process's connects.
  const mount = cgroup2Mount();
  if (mount === null) throw new Error('no cgroup2 hierarchy is mounted');
  const cgroup = join(mount, `dsrlb-test-${randomBytes(3).toString('hex')}`);
  mkdirSync(cgroup);
  t.teardown(() => rmdirSync(cgroup));

  let log = '';
  // nsenter switches only the network namespace, so the host's bpffs stays visible.
  const agent: ChildProcess = spawn('nsenter', [`--net=/run/netns/${ns}`, 'node', agentBin,
    '--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root, '--cgroup-root', cgroup,
    '--metrics-addr', '127.0.0.1:9963', '--health-addr', '127.0.0.1:9964'], { stdio: ['ignore', 'pipe', 'pipe'] });
  agent.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  agent.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  t.teardown(() => { agent.kill('SIGKILL'); });

  await waitFor(() => log.includes('"msg":"synced"'), 20_000, () => `agent did not sync:\n${log}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:80', '203.0.113.1:80']);
  t.deepEqual(backends(root), ['198.18.1.10:8080', '198.18.1.11:8080']);
  const progId = xdpProgId(ns);
  t.truthy(progId, 'xdp_lb attached to eth0');

  // An edit: new service port, one backend replaced.
  writeFileSync(file, manifests(8080, ['198.18.1.10', '198.18.1.12']));
  await waitFor(() => frontends(root).includes('203.0.113.10:8080'), 10_000, () => `maps did not follow the edit:\n${log}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:8080', '203.0.113.1:8080']);
  await waitFor(() => backends(root).join() === '198.18.1.10:8080,198.18.1.12:8080', 10_000, () => backends(root).join());

  // A document that does not parse is reported; the last good version stays.
  writeFileSync(file, 'apiVersion: v1\nkind: Service\nmetadata: {name: web\n');
  await waitFor(() => /not valid YAML|parse/i.test(log), 10_000, () => `no parse error reported:\n${log}`);
  t.deepEqual(frontends(root), ['0.0.0.0:30080', '198.51.100.1:30080', '203.0.113.10:8080', '203.0.113.1:8080']);

  // lbctl status, from inside the node's network namespace: devices, config, the agent's health.
  const status = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    'status', '--bpffs-root', root, '--health-addr', '127.0.0.1:9964', '-o', 'json'])) as Status;
  t.deepEqual(status.attachments.map((a) => [a.device, a.xdp, a.tcEgress]), [['eth0', 'native', true]]);
  t.deepEqual(status.config, { nodeAddress: '198.51.100.1', mode: 'dsr', mtu: 1500 });
  t.true(status.agent.healthy);
  t.deepEqual(status.socketLb, { attached: true, cgroup, programs: ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4'] });
  t.is(status.maps.find((m) => m.name === 'lb4_services')?.entries, 4, 'with the socket LB NodePort on any node address');
  t.true(status.totalMapMemoryBytes > 0);

  const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
  agent.kill('SIGTERM');
  t.is(await exited, 0);
  t.is(xdpProgId(ns), progId, 'the program stays attached after SIGTERM');
  t.is(frontends(root).length, 4, 'the maps stay pinned after SIGTERM');

  t.true(socketLbStatus(root).attached, 'the socket LB stays attached after SIGTERM');
  const report = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', agentBin, 'cleanup', '--bpffs-root', root])) as CleanupReport;
  t.deepEqual(report.socketLbDetached, ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4']);
  t.is(xdpProgId(ns), undefined, 'cleanup detached the program');
  t.false(existsSync(join(root, 'lb4_services')), 'cleanup removed the pins');
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
