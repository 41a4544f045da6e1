/**
 * Starting the agent safely on a node that already serves: every invalid
 * start exits non-zero with one line and leaves the running datapath
 * byte-identical; a second agent on the same bpffs root is refused with the
 * holder's pid; new maps are filled before anything is attached, and an
 * agent whose source never delivers attaches nothing and says why.
 */
import test from 'ava';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/bpf/index.js';
import type { Status } from '../../src/cli/status-command.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { sh } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { agentNode, datapathSnapshot, health, programIds, runAgentToExit, serviceYaml, spawnAgent, waitHealthy } from '../helpers/agent.js';

const HEALTH = '127.0.0.1:9477';
const METRICS = '127.0.0.1:9476';

const web = serviceYaml({ name: 'web', clusterIP: '203.0.113.1' });

test('invalid starts exit non-zero with one line and leave the running datapath byte-identical; a second agent on the root names the first', async (t) => {
  t.timeout(5 * 60_000, 'ten agent starts, slower while other suites run');
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), web);
  const common = ['--node-name', 'node-a', '--bpffs-root', root];
  const running = spawnAgent(t, ns, [...common, '--manifests', dir, '--devices', 'eth0', '--health-addr', HEALTH, '--metrics-addr', METRICS]);
  await waitHealthy(running, ns, HEALTH);
  const before = datapathSnapshot(ns, root);
  t.truthy(before.programs.xdp);
  t.truthy(before.programs.tc);

  const badKubeconfig = join(dir, 'kubeconfig.yaml.bad');
  writeFileSync(badKubeconfig, 'apiVersion: v1\nclusters: [ {\n');
  const otherRoot = `${root}-other`;
  // Ports the running agent does not hold (kube-proxy's health port included).
  const free = ['--health-addr', '127.0.0.1:19964', '--metrics-addr', '127.0.0.1:19963', '--healthz-bind-address', '127.0.0.1:20256'];
  const noKubeEnv = { ...process.env };
  delete noKubeEnv['KUBECONFIG'];
  delete noKubeEnv['KUBERNETES_SERVICE_HOST'];
  const starts: { what: string; args: string[]; env?: NodeJS.ProcessEnv; line: RegExp }[] = [
    { what: 'health port in use', args: [...common, '--manifests', dir, '--devices', 'eth0', '--health-addr', HEALTH, '--metrics-addr', '127.0.0.1:19963'], line: /--health-addr.*EADDRINUSE/ },
    { what: 'metrics port in use, another bpffs root', args: ['--node-name', 'node-a', '--bpffs-root', otherRoot, '--manifests', dir, '--devices', 'eth0', '--health-addr', '127.0.0.1:19964', '--metrics-addr', METRICS], line: /--metrics-addr.*EADDRINUSE/ },
    { what: 'kubeconfig missing', args: [...common, '--kubeconfig', join(dir, 'nope'), '--devices', 'eth0', ...free], line: /nope: no such file \(check --kubeconfig\)/ },
    { what: 'kubeconfig unparseable', args: [...common, '--kubeconfig', badKubeconfig, '--devices', 'eth0', ...free], line: /kubeconfig\.yaml\.bad: cannot load/ },
    { what: 'no source at all', args: [...common, '--devices', 'eth0', ...free], env: noKubeEnv, line: /no API server configured/ },
    { what: 'manifests directory missing', args: [...common, '--manifests', join(dir, 'nope'), '--devices', 'eth0', ...free], line: /cannot read the manifests directory \(ENOENT\)/ },
    { what: 'device missing', args: [...common, '--manifests', dir, '--devices', 'eth0,nosuch0', ...free], line: /nosuch0: no such network device/ },
    { what: 'device without IPv4', args: [...common, '--manifests', dir, '--devices', 'peer0', ...free], line: /peer0: device has no IPv4 address/ },
    { what: 'second agent on the same bpffs root', args: [...common, '--manifests', dir, '--devices', 'eth0', ...free], line: new RegExp(`another dsrlb-agent \\(pid ${running.pid}\\) already runs on this bpffs root`) },
    { what: 'cleanup while the agent runs', args: ['cleanup', '--bpffs-root', root], line: new RegExp(`another dsrlb-agent \\(pid ${running.pid}\\) already runs on this bpffs root \\(stop that agent first`) },
  ];
  for (const s of starts) {
    const out = await runAgentToExit(ns, s.args, s.env);
    t.is(out.code, 1, `${s.what}: exit code\n${out.stderr}`);
    const lines = out.stderr.trim().split('\n');
    t.is(lines.length, 1, `${s.what}: one line on stderr\n${out.stderr}`);
    t.regex(lines[0] ?? '', s.line, s.what);
    t.notRegex(out.stdout, /programs stay attached/, `${s.what}: never claims the programs stay attached`);
    t.deepEqual(datapathSnapshot(ns, root), before, `${s.what}: the running datapath is byte-identical`);
  }
  t.false(existsSync(otherRoot), 'a start refused at its ports created no bpffs root');
  t.is(health(ns, HEALTH).status, 200, 'the running agent is still healthy');
  t.is(await running.stop(), 0);
});

test('new maps are filled before anything is attached: a source that never delivers leaves the running datapath alone and says why', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), web);
  const first = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0', '--health-addr', HEALTH, '--metrics-addr', METRICS]);
  await waitHealthy(first, ns, HEALTH);
  // The first start created the maps: filled by the first sync, then attached.
  await waitFor(() => first.log().includes('datapath attached (the first sync filled the new maps)'), 5000, () => first.log());
  t.regex(first.log(), /new maps: the first sync fills them before any program is attached/);
  t.is(await first.stop(), 0);
  t.regex(first.log(), /stopped; programs stay attached and maps pinned/);
  const serving = datapathSnapshot(ns, root);

  // Another root (new maps) and an API server that refuses connections: nothing may be attached.
  const fresh = tempPinRoot(t);
  const stuck = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', fresh, '--api-server', 'http://127.0.0.1:1', '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS]);
  await waitFor(() => /the source has not delivered a complete state/.test(health(ns, HEALTH).body.lastError ?? ''), 60_000,
    () => `${JSON.stringify(health(ns, HEALTH).body)}\n${stuck.log()}`);
  const h = health(ns, HEALTH);
  t.is(h.status, 503);
  t.false(h.body.healthy);
  t.false(h.body.attached);
  t.regex(h.body.lastError ?? '', /no complete sync yet: the source has not delivered a complete state: .*ECONNREFUSED|no complete sync yet: .*127\.0\.0\.1:1/);
  const status = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    'status', '--bpffs-root', fresh, '--health-addr', HEALTH, '-o', 'json'])) as Status;
  t.false(status.agent.healthy);
  t.regex(status.agent.detail, /no complete sync yet/);
  t.deepEqual(programIds(ns), serving.programs, 'the programs of the first agent still serve');
  t.deepEqual(datapathSnapshot(ns, root), serving, 'and their maps are untouched');
  t.is(await stuck.stop(), 0);
  t.regex(stuck.log(), /stopped before the first sync completed: this agent attached nothing/);
  t.notRegex(stuck.log(), /programs stay attached/);
  t.deepEqual(programIds(ns), serving.programs);
});
