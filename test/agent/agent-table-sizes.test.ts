/**
 * Connection table sizes (--revnat-max, --revnat-unconfirmed-max,
 * --flows-max) are fixed when a map is created: a restart with other sizes
 * is another map layout, so the agent creates the tables anew in their own
 * layout directory and carries the live entries over (docs/agent.md
 * "Upgrades across map layouts"), exactly as for a struct change.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { buildLayout, datapathObjects, layoutDirs } from '../../src/bpf/index.js';
import { MapSpecs, openPinned, withPinned } from '../../src/bpf/map-specs.js';
import { tableMaxEntries } from '../../src/agent/config.js';
import { agentNode, serviceYaml, spawnAgent, waitHealthy } from '../helpers/agent.js';

const HEALTH = '127.0.0.1:9964';
const METRICS = '127.0.0.1:9963';
const reply = { saddr: '198.18.1.5', daddr: '192.0.2.7', sport: 8080, dport: 40000, proto: 6, flags: 0 };

test('a restart with other table sizes makes new tables of those sizes and carries the established reverse-NAT entries over', async (t) => {
  t.timeout(3 * 60_000, 'two agent starts, slower while other suites run');
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
  const args = ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0', '--health-addr', HEALTH, '--metrics-addr', METRICS];

  const first = spawnAgent(t, ns, args);
  await waitHealthy(first, ns, HEALTH);
  const [before] = layoutDirs(root);
  if (!before) throw new Error('no layout directory');
  const established = openPinned(before, MapSpecs.dsrRevnat);
  established.update(reply, { address: '203.0.113.1', port: 80 });
  established.close();
  t.is(await first.stop(), 0);

  const sizes = { revnat: 65536, revnatUnconfirmed: 4096, flows: 4096, flowsUnconfirmed: 2048 };
  const second = spawnAgent(t, ns, [...args, '--revnat-max', String(sizes.revnat), '--revnat-unconfirmed-max', String(sizes.revnatUnconfirmed),
    '--flows-max', String(sizes.flows), '--flows-unconfirmed-max', String(sizes.flowsUnconfirmed)]);
  await waitHealthy(second, ns, HEALTH);
  const expected = buildLayout(Object.values(datapathObjects()), tableMaxEntries(sizes)).id;
  t.deepEqual(layoutDirs(root).map((d) => basename(d)), [`v${expected}`], 'the sizes are part of the layout: a new directory, the old one removed');
  const after = join(root, `v${expected}`);
  t.is(withPinned(after, MapSpecs.dsrRevnat, (m) => m.info().maxEntries), sizes.revnat);
  t.is(withPinned(after, MapSpecs.dsrRevnatNew, (m) => m.info().maxEntries), sizes.revnatUnconfirmed);
  t.is(withPinned(after, MapSpecs.flows, (m) => m.info().maxEntries), sizes.flows);
  t.is(withPinned(after, MapSpecs.flowsNew, (m) => m.info().maxEntries), sizes.flowsUnconfirmed);
  t.is(withPinned(after, MapSpecs.snatNew, (m) => m.info().maxEntries), 2 * sizes.flowsUnconfirmed, 'two SNAT entries a flow');
  t.deepEqual(withPinned(after, MapSpecs.dsrRevnat, (m) => m.lookup(reply)), { address: '203.0.113.1', port: 80 }, 'the live connection is carried over');
  t.regex(second.log(), /upgrade: lb4_dsr_revnat copied/);
  t.regex(second.log(), /upgrade: lb4_services shared/, 'maps whose size did not change stay the same kernel maps');
  t.is(await second.stop(), 0);
});
