/**
 * The running agent under pressure: manifest files over the limits are
 * refused while the rest applies; more Services than the maps hold admits a
 * stable subset and still applies unrelated changes; pins removed by hand
 * turn /healthz unhealthy with the cause; a TERMINATING backend's grace
 * start survives a restart.
 */
import test from 'ava';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import { currentLayoutDir, DSRLB_BE_F_TERMINATING, projectRoot } from '../../src/bpf/index.js';
import { u32Key } from '../../src/bpf/codecs/scalars.js';
import { MapSpecs, openPinned, withPinned } from '../../src/bpf/map-specs.js';
import { openPinnedMap } from '../../src/bpf/pins.js';
import { TERMINATING_MAP, terminatingEntry } from '../../src/agent/terminating-store.js';
import type { Status } from '../../src/cli/status-command.js';
import { sh } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';
import { agentNode, health, serviceYaml, spawnAgent, waitHealthy, type Svc } from '../helpers/agent.js';

const HEALTH = '127.0.0.1:9477';
const METRICS = '127.0.0.1:9476';

function frontendAddresses(root: string): string[] {
  return withPinned(currentLayoutDir(root), MapSpecs.services, (m) => [...new Set(m.entries().map(([k]) => k.address))].sort());
}

function agentArgs(root: string, dir: string, extra: string[] = []): string[] {
  return ['--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root, '--manifests', dir, '--health-addr', HEALTH, '--metrics-addr', METRICS, ...extra];
}

test('a manifest file over the size or object limit is refused with a clear error; the rest applies', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
  writeFileSync(join(dir, 'big.yaml'), serviceYaml({ name: 'big', clusterIP: '203.0.113.2' }) + `# ${'x'.repeat(5000)}\n`);
  const many = Array.from({ length: 25 }, (_, i) => `{ kind: Service, apiVersion: v1, metadata: { name: s${i}, namespace: shop }, spec: { clusterIP: 203.0.113.${100 + i}, ports: [{ port: 80 }] } }`);
  writeFileSync(join(dir, 'many.yaml'), `apiVersion: v1\nkind: List\nitems:\n${many.map((s) => `- ${s}`).join('\n')}\n`);
  const agent = spawnAgent(t, ns, agentArgs(root, dir, ['--manifests-max-file-bytes', '4096', '--manifests-max-objects', '20']));
  await waitHealthy(agent, ns, HEALTH);
  await waitFor(() => agent.log().includes('many.yaml'), 5000, () => agent.log());
  t.regex(agent.log(), /big\.yaml: \d+ bytes is more than --manifests-max-file-bytes 4096: the file is not read; keeping its last good objects \(split the file, or raise/);
  t.regex(agent.log(), /many\.yaml: more than --manifests-max-objects 20 objects \(25 so far\): the file is refused/);
  t.deepEqual(frontendAddresses(root), ['203.0.113.1'].sort());

  // The rest still follows edits.
  writeFileSync(join(dir, 'web.yaml'), [serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }), serviceYaml({ name: 'web2', clusterIP: '203.0.113.3' })].join('---\n'));
  await waitFor(() => frontendAddresses(root).includes('203.0.113.3'), 30_000, () => agent.log());
  t.is(health(ns, HEALTH).status, 200);
  t.is(await agent.stop(), 0);
});

test('more Services than the maps hold: a stable subset is admitted, the rest reported per Service, unrelated changes still apply', async (t) => {
  const { ns, root, dir } = agentNode(t);
  // lb4_source_ranges holds 16384 prefixes: two Services of 6000 fit, a third does not.
  const big = (name: string, n: number): Svc => ({ name, clusterIP: `203.0.113.${n}`, lb: `203.0.113.${100 + n}`, ranges: 6000 });
  writeFileSync(join(dir, 'm-a.yaml'), serviceYaml(big('m-a', 11)));
  writeFileSync(join(dir, 'm-b.yaml'), serviceYaml(big('m-b', 12)));
  writeFileSync(join(dir, 'm-c.yaml'), serviceYaml(big('m-c', 13)));
  writeFileSync(join(dir, 'small.yaml'), [serviceYaml({ name: 'd', clusterIP: '203.0.113.4' }), serviceYaml({ name: 'e', clusterIP: '203.0.113.5' })].join('---\n'));
  const agent = spawnAgent(t, ns, agentArgs(root, dir));
  await waitHealthy(agent, ns, HEALTH);
  t.deepEqual(frontendAddresses(root), ['203.0.113.11', '203.0.113.111', '203.0.113.12', '203.0.113.112', '203.0.113.4', '203.0.113.5'].sort());
  let h = health(ns, HEALTH).body;
  t.is(h.capacity.rejectedServices, 1);
  t.deepEqual(h.capacity.rejected.map((r) => r.service), ['shop/m-c']);
  await waitFor(() => /shop\/m-c: its 2 frontends are not in the maps: needs 2 frontends, 1 backends and 6000 source ranges/.test(agent.log()), 5000, () => agent.log());
  const metrics = sh('nsenter', [`--net=/run/netns/${ns}`, 'curl', '-s', `http://${METRICS}/metrics`]);
  t.regex(metrics, /dsrlb_capacity_rejected_frontends\{service="shop\/m-c"\} 2/);
  const status = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    'status', '--bpffs-root', root, '--health-addr', HEALTH, '-o', 'json'])) as Status;
  t.is(status.agent.rejectedServices, 1);

  // A newcomer that sorts first does not push out what is admitted; an unrelated removal applies.
  writeFileSync(join(dir, 'a-new.yaml'), serviceYaml(big('a-new', 14)));
  writeFileSync(join(dir, 'small.yaml'), serviceYaml({ name: 'd', clusterIP: '203.0.113.4' }));
  await waitFor(() => !frontendAddresses(root).includes('203.0.113.5'), 30_000, () => agent.log());
  t.deepEqual(frontendAddresses(root), ['203.0.113.11', '203.0.113.111', '203.0.113.12', '203.0.113.112', '203.0.113.4'].sort());
  await waitFor(() => health(ns, HEALTH).body.capacity.rejectedServices === 2, 5000, () => JSON.stringify(health(ns, HEALTH).body));
  h = health(ns, HEALTH).body;
  t.deepEqual(h.capacity.rejected.map((r) => r.service), ['shop/a-new', 'shop/m-c']);

  // Room freed: the first waiting Service by name goes in, in the same sync as the removal.
  unlinkSync(join(dir, 'm-b.yaml'));
  await waitFor(() => frontendAddresses(root).includes('203.0.113.14'), 30_000, () => agent.log());
  t.deepEqual(frontendAddresses(root), ['203.0.113.11', '203.0.113.111', '203.0.113.14', '203.0.113.114', '203.0.113.4'].sort());
  t.deepEqual(health(ns, HEALTH).body.capacity.rejected.map((r) => r.service), ['shop/m-c']);
  t.is(health(ns, HEALTH).status, 200, 'left-out Services are reported, not a health failure');
  t.is(await agent.stop(), 0);
});

test('/healthz turns unhealthy with the cause when a pin is removed by hand, and stop says so', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
  const agent = spawnAgent(t, ns, agentArgs(root, dir));
  await waitHealthy(agent, ns, HEALTH);
  unlinkSync(join(currentLayoutDir(root), 'lb4_backends'));
  const h = health(ns, HEALTH);
  t.is(h.status, 503);
  t.false(h.body.healthy);
  t.regex(h.body.lastError ?? '', /the maps this agent writes are no longer the pinned ones \(unpinned: lb4_backends\); restart the agent/);
  const status = JSON.parse(sh('nsenter', [`--net=/run/netns/${ns}`, 'node', join(projectRoot, 'bin', 'lbctl.js'),
    'status', '--bpffs-root', root, '--health-addr', HEALTH, '-o', 'json'])) as Status;
  t.false(status.agent.healthy);
  t.regex(status.agent.detail, /unpinned: lb4_backends/);
  t.is(await agent.stop(), 0);
  await waitFor(() => agent.log().includes('stopped;'), 5000, () => agent.log());
  t.regex(agent.log(), /stopped; programs stay attached, but the maps this agent writes are no longer the pinned ones/);
  t.notRegex(agent.log(), /programs stay attached and maps pinned/);
});

test('a TERMINATING backend keeps its grace start across an agent restart', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1', backends: ['198.18.1.10', '198.18.1.11'] }));
  const first = spawnAgent(t, ns, agentArgs(root, dir));
  await waitHealthy(first, ns, HEALTH);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1', backends: ['198.18.1.10'] }));
  const terminating = (): [number, bigint][] => {
    const m = openPinnedMap(currentLayoutDir(root), TERMINATING_MAP, u32Key, terminatingEntry);
    try { return m.entries().map(([id, e]) => [id, e.sinceMs]); } finally { m.close(); }
  };
  await waitFor(() => terminating().length === 1, 30_000, () => first.log());
  const before = terminating();
  const draining = (): string[] => {
    const m = openPinned(currentLayoutDir(root), MapSpecs.backends);
    try { return liveBackends(m).filter(([, b]) => b.flags & DSRLB_BE_F_TERMINATING).map(([, b]) => b.address); } finally { m.close(); }
  };
  t.deepEqual(draining(), ['198.18.1.11']);
  t.is(await first.stop(), 0);
  await new Promise((r) => setTimeout(r, 50)); // a restart that started the grace again would record a later time

  const second = spawnAgent(t, ns, agentArgs(root, dir));
  await waitHealthy(second, ns, HEALTH);
  await waitFor(() => second.log().includes('the pinned maps hold a plan: programs replaced in place'), 5000, () => second.log());
  t.deepEqual(terminating(), before, 'the same backend id, the same grace start');
  t.deepEqual(draining(), ['198.18.1.11']);
  t.is(await second.stop(), 0);
});
