/**
 * `lbctl monitor` as a process against a bpffs with the datapath's maps
 * pinned: it opens the gate, prints a frame's event as a JSON line, and on
 * SIGINT (or a closed stdout) shuts the gate and exits 0; errors are one
 * line with the exit code of their kind.
 */
import test from 'ava';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { closeServer, startHealthServer } from '../../src/agent/health-server.js';
import { servicesRoutes } from '../../src/agent/services-endpoint.js';
import { projectRoot } from '../../src/bpf/index.js';
import type { Frontend } from '../../src/plan/types.js';
import { Addr, clientTcp, Datapath, truncatedTcp, NodeId, Proto, XdpAction } from '../helpers/datapath.js';
import { waitFor } from '../helpers/wait.js';

const lbctl = `${projectRoot}/bin/lbctl.js`;
const run = promisify(execFile);


interface Monitor { child: ChildProcessWithoutNullStreams; stdout: () => string; stderr: () => string; exit: Promise<number | null> }

function startMonitor(t: { teardown(fn: () => void): void }, args: string[]): Monitor {
  const child = spawn('node', [lbctl, 'monitor', ...args]);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });
  return { child, stdout: () => out, stderr: () => err, exit };
}

const gateOpen = (dp: Datapath): boolean => (dp.maps.monitorGate.lookup(0)?.types ?? 0) !== 0;

test('lbctl monitor -o json prints a dropped frame as one JSON line; SIGINT shuts the gate and exits 0', async (t) => {
  const dp = Datapath.open(t);
  const m = startMonitor(t, ['--bpffs-root', dp.pinRoot, '-o', 'json', '--type', 'drop,trace']);
  await waitFor(() => gateOpen(dp), 20_000, () => `gate never opened; stderr: ${m.stderr()}`);
  t.like(dp.maps.monitorGate.lookup(0), { types: 3, ownerPid: m.child.pid });

  t.is(dp.runXdp(truncatedTcp()).retval, XdpAction.DROP);
  await waitFor(() => m.stdout().includes('\n'), 20_000, () => `no event line; stdout: ${m.stdout()} stderr: ${m.stderr()}`);
  const lines = m.stdout().trim().split('\n');
  t.is(lines.length, 1);
  const e = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  t.like(e, {
    type: 'drop', reason: 'drop_truncated', hook: 'xdp', ifindex: dp.ifindex, device: dp.ifname, verdict: XdpAction.DROP,
    tuple: { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, protocol: 'tcp' },
    outer: null, frontend: null,
  });
  t.false(Number.isNaN(Date.parse(String(e['time']))));

  m.child.kill('SIGINT');
  t.is(await m.exit, 0);
  t.is(m.stderr(), '');
  t.like(dp.maps.monitorGate.lookup(0), { types: 0 }, 'the gate is shut: no cost left behind');
});

test('text lines, --service filtering, a second monitor refused, and a closed stdout ends it quietly', async (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [11], port: 443 });
  const m = startMonitor(t, ['--bpffs-root', dp.pinRoot, '--type', 'trace', '--service', `${Addr.vip}:443/tcp`]);
  await waitFor(() => gateOpen(dp), 20_000, () => `gate never opened; stderr: ${m.stderr()}`);

  const second = await run('node', [lbctl, 'monitor', '--bpffs-root', dp.pinRoot])
    .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  t.is(second.code, 1);
  t.regex(second.stderr, new RegExp(`^lbctl: .*another lbctl monitor \\(pid ${m.child.pid}\\) is reading this datapath's events`));

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX, 'port 80: not the service asked for');
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 443 })).retval, XdpAction.TX);
  await waitFor(() => m.stdout().includes('\n'), 20_000, () => `no event line; stderr: ${m.stderr()}`);
  const [line, ...rest] = m.stdout().trim().split('\n');
  t.deepEqual(rest, []);
  t.regex(line ?? '', new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{6} CPU \\d\\d TRACE tx_encap xdp ${dp.ifname}\\(${dp.ifindex}\\): `
    + `${Addr.client}:40000 -> ${Addr.pod}:8080 tcp, frontend ${Addr.vip}:443 \\(dsr\\), geneve ${Addr.lbNode} -> ${Addr.backendNode}, len \\d+$`));

  // The reader goes away: the next event's write fails, and the monitor ends as if interrupted.
  m.child.stdout.destroy();
  await waitFor(() => {
    dp.runXdp(clientTcp({ flags: { syn: true }, dport: 443 }));
    return m.child.exitCode !== null;
  }, 20_000, () => `still running; stderr: ${m.stderr()}`, 200);
  t.is(await m.exit, 0);
  t.is(m.stderr(), '');
  t.like(dp.maps.monitorGate.lookup(0), { types: 0 });
});

test('lbctl monitor errors: nothing pinned (1), no privileges (1), a bad type or --service (2), an unknown frontend (1)', async (t) => {
  const dp = Datapath.open(t);
  const fail = async (args: string[]): Promise<{ code: number; stderr: string }> =>
    run('node', [lbctl, 'monitor', ...args]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);

  const none = await fail(['--bpffs-root', '/sys/fs/bpf/dlt13m-nothing-here']);
  t.is(none.code, 1);
  t.regex(none.stderr, /^lbctl: .*no dsrlb datapath with monitor events is pinned here .*is the agent running/);
  const unprivileged = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', 'node', lbctl, 'monitor', '--bpffs-root', dp.pinRoot])
    .then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  t.is(unprivileged.code, 1);
  t.regex(unprivileged.stderr, /^lbctl: .*\(run as root/);
  const badType = await fail(['--bpffs-root', dp.pinRoot, '--type', 'drops']);
  t.is(badType.code, 2);
  t.regex(badType.stderr, /unknown event type 'drops'/);
  const notAService = await fail(['--bpffs-root', dp.pinRoot, '--service', 'shop/web:80']);
  t.is(notAService.code, 2);
  t.regex(notAService.stderr, /neither a frontend address:port nor a Service namespace\/name/);
  const unknown = await fail(['--bpffs-root', dp.pinRoot, '--service', '192.0.2.1:80']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /no frontend 192\.0\.2\.1:80 in the datapath/);
  t.like(dp.maps.monitorGate.lookup(0), { types: 0 }, 'no failed start opened the gate');
});

/** The agent's GET /v1/services serving `frontends` (as the agent's health server does), on a free port. */
async function agentWith(t: { teardown(fn: () => Promise<void>): void }, frontends: Frontend[]): Promise<string> {
  const server = await startHealthServer({ host: '127.0.0.1', port: 0 }, {},
    { version: 'test', source: () => undefined, programmed: () => ({ services: 0, frontends: 0 }) }, () => undefined,
    servicesRoutes(() => ({ frontends, node: { name: 'node-a', address: Addr.lbNode }, nodeAddresses: new Map(), syncedAt: Date.now() })));
  t.teardown(() => closeServer(server));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const frontend = (service: string, port: number): Frontend => ({
  service, servicePort: '', kind: 'LoadBalancer', address: Addr.vip, port, protocol: 'TCP', backends: [],
  sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: 'reject',
});

test('--service namespace/name follows every frontend the agent serves for that Service; an unknown Service or no agent is an error naming the remedy', async (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [11], port: 443 });
  dp.setService({ serviceId: 3, backends: [11], port: 8443 });
  const addr = await agentWith(t, [frontend('shop/web', 443), frontend('shop/web', 8443), frontend('shop/other', 80)]);
  const m = startMonitor(t, ['--bpffs-root', dp.pinRoot, '--type', 'trace', '-o', 'json', '--service', 'shop/web', '--health-addr', addr]);
  await waitFor(() => gateOpen(dp), 20_000, () => `gate never opened; stderr: ${m.stderr()}`);

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX, 'port 80: shop/other');
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 443 })).retval, XdpAction.TX);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 8443 })).retval, XdpAction.TX);
  await waitFor(() => m.stdout().trim().split('\n').length >= 2, 20_000, () => `not two event lines; stdout: ${m.stdout()} stderr: ${m.stderr()}`);
  m.child.kill('SIGINT');
  t.is(await m.exit, 0);
  const events = m.stdout().trim().split('\n').map((l) => JSON.parse(l) as { reason: string; frontend: { port: number } | null });
  t.deepEqual(events.map((e) => [e.reason, e.frontend?.port]), [['tx_encap', 443], ['tx_encap', 8443]], 'both of shop/web\'s frontends, not shop/other\'s');
  t.is(m.stderr(), '');

  const fail = async (args: string[]): Promise<{ code: number; stderr: string }> =>
    run('node', [lbctl, 'monitor', '--bpffs-root', dp.pinRoot, ...args]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  const unknown = await fail(['--service', 'shop/cart', '--health-addr', addr]);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /^lbctl: .*the agent serves no Service shop\/cart \(`lbctl service list` shows the Services the agent serves/);
  const noAgent = await fail(['--service', 'shop/web', '--health-addr', '127.0.0.1:1']);
  t.is(noAgent.code, 1);
  t.regex(noAgent.stderr, /^lbctl: 127\.0\.0\.1:1: cannot resolve Service shop\/web to its frontends: .*\(is the agent running\? pass its --health-addr, or the frontend as VIP:PORT/);
  t.like(dp.maps.monitorGate.lookup(0), { types: 0 }, 'no failed start opened the gate');
});
