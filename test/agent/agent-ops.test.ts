/**
 * What an operator sees of the running agent: /healthz and `lbctl status`
 * with the source's state and a cause while the API server cannot be
 * reached; logs as text or JSON lines; `--version`, `version` and `help`;
 * `/metrics` on the default loopback ports with every drop reason at zero
 * before any traffic; and `cleanup` saying what it removed, the agent's
 * neighbour entries included and nobody else's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { projectRoot } from '../../src/bpf/index.js';
import { dsrlb_stat } from '../../src/bpf/consts.generated.js';
import type { Status } from '../../src/cli/status-command.js';
import type { SourceReport } from '../../src/agent/source-state.js';
import { FakeApiServer } from '../k8s/fake-apiserver.js';
import { node, service, slice } from '../k8s/helpers.js';
import { sh, vethIntoNetns } from '../helpers/netns.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';
import { agentBin, agentNode, serviceYaml, spawnAgent, waitHealthy } from '../helpers/agent.js';

/** The defaults: loopback, ports no other node agent uses. */
const HEALTH = '127.0.0.1:9477';
const METRICS = '127.0.0.1:9476';
const lbctl = join(projectRoot, 'bin', 'lbctl.js');
const VERSION = (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;

interface Healthz {
  healthy: boolean; lastError: string | null; version: string; source: SourceReport | null;
  programmed: { services: number; frontends: number }; lastSyncedAt: string | null;
}

function healthz(ns: string): { status: number; body: Healthz } {
  const out = sh('nsenter', [`--net=/run/netns/${ns}`, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}', `http://${HEALTH}/healthz`]);
  const lines = out.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as Healthz };
}

function inNs(ns: string, argv: string[]): string {
  return sh('nsenter', [`--net=/run/netns/${ns}`, ...argv]);
}

test('/healthz and lbctl status name the source\'s state: a cause while the API server is unreachable, connected, then retrying with the last error', async (t) => {
  requireRoot(t);
  // The node's namespace reaches the API server (in this process) over a veth.
  const { ns, hostIf, nsIf } = vethIntoNetns(t, 'dsrlbo');
  const subnet = `10.${200 + ((randomBytes(1)[0] ?? 0) % 50)}.${randomBytes(1)[0] ?? 0}`;
  const base = 4 * ((randomBytes(1)[0] ?? 0) % 63);
  sh('ip', ['addr', 'add', `${subnet}.${base + 1}/30`, 'dev', hostIf]);
  sh('ip', ['-n', ns, 'addr', 'add', `${subnet}.${base + 2}/30`, 'dev', nsIf]);
  const api = await FakeApiServer.start({ host: `${subnet}.${base + 1}` });
  t.teardown(() => api.close());
  api.put('nodes', node('node-a', `${subnet}.${base + 2}`) as unknown as Record<string, unknown>);
  api.put('services', service('shop', 'web', '203.0.113.1') as unknown as Record<string, unknown>);
  api.put('endpointslices', slice('shop', 'web-1', 'web', ['198.18.1.10']) as unknown as Record<string, unknown>);
  await api.goAway();

  const root = tempPinRoot(t);
  const agent = spawnAgent(t, ns, ['--api-server', api.url, '--node-name', 'node-a', '--devices', nsIf, '--bpffs-root', root],
    { PATH: process.env['PATH'] ?? '' });
  // Unreachable from the start: 503, and the cause says why.
  await waitFor(() => healthz(ns).body.source?.state === 'retrying', 30_000, () => agent.log());
  let h = healthz(ns);
  t.is(h.status, 503);
  t.false(h.body.healthy);
  t.regex(h.body.lastError ?? '', /^no complete sync yet: the source has not delivered a complete state: .*ECONNREFUSED/);
  t.is(h.body.version, VERSION);
  t.like(h.body.source, { kind: 'kubernetes', state: 'retrying', lastCompleteReadAt: null });
  t.regex(h.body.source?.description ?? '', new RegExp(`Kubernetes API ${api.url.replace(/\./g, '\\.')}`));
  t.regex(h.body.source?.lastError ?? '', /ECONNREFUSED/);
  t.truthy(h.body.source?.retryingSince);
  t.deepEqual(h.body.programmed, { services: 0, frontends: 0 });
  const down = JSON.parse(inNs(ns, ['node', lbctl, 'status', '--bpffs-root', root, '-o', 'json'])) as Status;
  t.false(down.agent.healthy);
  t.regex(down.agent.detail, /ECONNREFUSED/);
  t.is(down.agent.source?.state, 'retrying');

  // The API server comes back: healthy, connected, the Service programmed.
  await api.comeBack();
  await waitHealthy(agent, ns, HEALTH);
  h = healthz(ns);
  t.like(h.body.source, { state: 'connected', retryingSince: null, failing: [] });
  t.truthy(h.body.source?.lastCompleteReadAt);
  t.deepEqual(h.body.programmed, { services: 1, frontends: 1 });
  t.truthy(h.body.lastSyncedAt);

  // It goes away again: the datapath keeps serving the last good state (healthy), and the source says it is retrying, since when and why.
  await api.goAway();
  await waitFor(() => healthz(ns).body.source?.state === 'retrying', 30_000, () => JSON.stringify(healthz(ns).body));
  h = healthz(ns);
  t.is(h.status, 200);
  t.is(h.body.lastError, null);
  t.truthy(h.body.source?.retryingSince);
  t.true((h.body.source?.failing.length ?? 0) > 0);
  t.truthy(h.body.source?.lastError);
  const text = inNs(ns, ['node', lbctl, 'status', '--bpffs-root', root]);
  t.regex(text, /Source\s+.*Kubernetes API .*: retrying since \d{4}-\d\d-\d\dT.*failing\).*; last complete list \d{4}-/);
  t.regex(text, /Programmed\s+1 Services, 1 frontends/);
  t.regex(text, new RegExp(`Version\\s+${VERSION.replace(/\./g, '\\.')}`));
  t.is(await agent.stop(), 0);
});

test('--log-format text writes a line an event for people, json a JSON object a line', async (t) => {
  for (const format of ['text', 'json'] as const) {
    const { ns, root, dir } = agentNode(t);
    writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
    const agent = spawnAgent(t, ns, ['--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root, '--log-format', format]);
    await waitHealthy(agent, ns, HEALTH);
    t.is(await agent.stop(), 0);
    const lines = agent.log().trimEnd().split('\n');
    if (format === 'json') {
      for (const l of lines) t.like(JSON.parse(l), { node: 'node-a' }, l);
      t.true(lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === 'synced'));
    } else {
      for (const l of lines) t.regex(l, /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): \S/, l);
      t.true(lines.some((l) => /\] INFO: synced \{"node":"node-a","reason":"initial",/.test(l)), agent.log());
    }
  }
});

test('--version, version and help answer without root or a kernel, exit 0', (t) => {
  const run = (args: string[]): string => execFileSync('node', [agentBin, ...args], { encoding: 'utf8' });
  t.is(run(['--version']), `dsrlb-agent ${VERSION}\n`);
  t.regex(run(['version']), new RegExp(`^dsrlb-agent ${VERSION.replace(/\./g, '\\.')} \\(libbpf v?\\d+\\.\\d+.*, Node\\.js v\\d+`));
  t.like(JSON.parse(run(['version', '-o', 'json'])) as Record<string, string>, { version: VERSION, nodejs: process.version });
  const help = run(['help']);
  t.regex(help, /^Usage: dsrlb-agent \[options\] \[command\]/);
  t.regex(help, /--log-format <value>/);
  t.regex(help, /cleanup \[options\]/);
  t.regex(run(['help', 'cleanup']), /^Usage: dsrlb-agent cleanup \[options\]/);
});

test('/metrics on the default loopback address has every drop reason at zero before any traffic, and no doubled prefix', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
  const agent = spawnAgent(t, ns, ['--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root]);
  await waitHealthy(agent, ns, HEALTH);
  const listening = inNs(ns, ['ss', '-Hltn']);
  t.regex(listening, /127\.0\.0\.1:9476\b/, 'metrics on loopback by default');
  t.regex(listening, /127\.0\.0\.1:9477\b/);
  const text = inNs(ns, ['curl', '-s', '-m', '5', `http://${METRICS}/metrics`]);
  const reasons = Object.keys(dsrlb_stat).filter((n) => n.startsWith('DSRLB_STAT_DROP_')).map((n) => n.slice('DSRLB_STAT_DROP_'.length).toLowerCase());
  t.true(reasons.length > 10);
  for (const r of reasons) t.regex(text, new RegExp(`^dsrlb_drop_count_total\\{reason="${r}",direction="(ingress|egress)"\\} 0$`, 'm'), r);
  t.regex(text, /^dsrlb_forward_count_total\{path="dsr_encap"\} 0$/m);
  t.regex(text, new RegExp(`^dsrlb_build_info\\{version="${VERSION.replace(/\./g, '\\.')}",libbpf="[^"]+",nodejs="v\\d[^"]*",layout="[0-9a-f]+"\\} 1$`, 'm'));
  t.regex(text, /^dsrlb_services 1$/m);
  t.regex(text, /^dsrlb_frontends 1$/m);
  t.regex(text, /^dsrlb_source_connected 1$/m);
  t.regex(text, /^dsrlb_map_fill_ratio\{map="lb4_services"\} [0-9.e-]+$/m);
  t.regex(text, /^dsrlb_source_errors_total\{resource="manifests",kind="parse"\} 0$/m);
  t.regex(text, /^process_cpu_seconds_total /m);
  t.notRegex(text, /dsrlb_process_/);
  t.is(await agent.stop(), 0);
});

test('cleanup says what it removed, a line each, the agent\'s neighbour entries included and nobody else\'s', async (t) => {
  const { ns, root, dir } = agentNode(t);
  // node-b on eth0's subnet: the agent keeps a managed neighbour entry towards it.
  writeFileSync(join(dir, 'web.yaml'), `${serviceYaml({ name: 'web', clusterIP: '203.0.113.1' })}---
apiVersion: v1
kind: Node
metadata: { name: node-b }
status: { addresses: [{ type: InternalIP, address: 198.51.100.2 }] }
`);
  // Somebody else's entries: one permanent, one managed like dsrlb's but without its protocol.
  inNs(ns, ['ip', 'neigh', 'add', '198.51.100.7', 'dev', 'eth0', 'lladdr', '02:00:00:00:00:07']);
  inNs(ns, ['ip', 'neigh', 'add', '198.51.100.8', 'dev', 'eth0', 'managed', 'extern_learn']);
  const agent = spawnAgent(t, ns, ['--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root]);
  await waitHealthy(agent, ns, HEALTH);
  const neighbours = (): string => inNs(ns, ['ip', '-N', 'neigh', 'show', 'dev', 'eth0']);
  await waitFor(() => /198\.51\.100\.2 .*proto 213/.test(neighbours()), 10_000, neighbours);
  t.is(await agent.stop(), 0);

  const out = inNs(ns, ['node', agentBin, 'cleanup', '--bpffs-root', root]);
  const lines = out.trimEnd().split('\n');
  t.is(lines[0], 'detached XDP program xdp_lb (native) from eth0');
  t.is(lines[1], 'detached tc egress program tc_revnat from eth0');
  t.true(lines.some((l) => /^detached socket-LB program sock_connect4 from cgroup \//.test(l)), out);
  t.true(lines.includes('removed neighbour entry 198.51.100.2 dev eth0'), out);
  t.true(lines.some((l) => l.startsWith(`unpinned ${root}/v`) && l.endsWith('/lb4_services')), out);
  t.is(lines.at(-1), `removed directory ${root}`);
  t.false(lines.some((l) => /198\.51\.100\.[78]/.test(l)), 'nobody else\'s entries');
  const left = neighbours();
  t.notRegex(left, /198\.51\.100\.2 /);
  t.regex(left, /198\.51\.100\.7 .*PERMANENT/);
  t.regex(left, /198\.51\.100\.8 .*managed/);
  t.is(inNs(ns, ['node', agentBin, 'cleanup', '--bpffs-root', root]),
    `nothing to remove: no dsrlb program attached in this network namespace, no dsrlb neighbour entry, nothing under ${root}\n`);
});
