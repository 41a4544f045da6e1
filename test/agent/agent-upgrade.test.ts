/**
 * An agent of another map layout takes over from a running one without
 * `cleanup`: its maps go under their own layout directory, the unchanged
 * ones are the same kernel maps, lb4_flows (whose struct differs) is
 * translated member by member, the programs are replaced in place, and no
 * pin of the old layout is left. Then back again.
 */
import test, { type ExecutionContext } from 'ava';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BpfObjectFile, datapathObjects, DEFAULT_OBJECT_DIR, layoutDirs, native, pinnedMapLayout, type BuildLayout } from '../../src/bpf/index.js';
import { MapSpecs, openPinned, withPinned } from '../../src/bpf/map-specs.js';
import type { Lb4Flow, Lb4Tuple } from '../../src/bpf/codecs/connections.js';
import { agentNode, programIds, serviceYaml, spawnAgent, waitHealthy } from '../helpers/agent.js';
import { buildLayoutVariant, defaultLayout, type Variant } from '../helpers/layout-variant.js';

const HEALTH = '127.0.0.1:9964';
const METRICS = '127.0.0.1:9963';

let variant: Variant | undefined;
test.before(() => { variant = buildLayoutVariant(); });
test.after.always(() => variant?.remove());

const tuple: Lb4Tuple = { saddr: '192.0.2.7', daddr: '203.0.113.1', sport: 40000, dport: 80, proto: 6, flags: 0 };
const flow: Lb4Flow = { backendId: 1, serviceId: 1, backendGeneration: 3, frontendGeneration: 2, revnatId: 1 };

/** lb4_flows' value for `tuple` in the layout directory, decoded by that layout's own BTF offsets. */
function flowIn(dir: string): Record<string, number> | undefined {
  const layout = pinnedMapLayout(join(dir, MapSpecs.flows.name), MapSpecs.flows.name);
  const fd = native().objGet(join(dir, MapSpecs.flows.name));
  try {
    const raw = native().mapLookup(fd, MapSpecs.flows.key.encode(tuple), layout.valueSize);
    if (!raw) return undefined;
    const read = (name: string): number => {
      const m = layout.value?.members?.find((x) => x.name === name);
      if (!m) throw new Error(`no member ${name}`);
      return m.type.size === 2 ? raw.readUInt16LE(m.offset) : raw.readUInt32LE(m.offset);
    };
    return {
      backendId: read('backend_id'), serviceId: read('service_id'), backendGeneration: read('backend_generation'),
      frontendGeneration: read('frontend_generation'), revnatId: read('revnat_id'),
    };
  } finally {
    native().closeFd(fd);
  }
}

async function takeOver(t: ExecutionContext, node: ReturnType<typeof agentNode>, objectDir: string, to: BuildLayout, from: BuildLayout): Promise<void> {
  const { ns, root, dir } = node;
  const oldDir = join(root, `v${from.id}`);
  const before = programIds(ns);
  const servicesId = withPinned(oldDir, MapSpecs.services, (m) => m.info().id);
  const agent = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS, '--bpf-object-dir', objectDir]);
  await waitHealthy(agent, ns, HEALTH);
  const newDir = join(root, `v${to.id}`);
  t.deepEqual(layoutDirs(root).map((d) => basename(d)), [`v${to.id}`], 'only the new layout is pinned: the old pins are removed');
  const after = programIds(ns);
  t.not(after.xdp, before.xdp, 'XDP replaced');
  t.not(after.tc, before.tc, 'tc replaced');
  t.is(withPinned(newDir, MapSpecs.services, (m) => m.info().id), servicesId, 'an unchanged map is the same kernel map');
  t.deepEqual(flowIn(newDir), { ...flow }, 'the flow is carried over, member by member');
  t.regex(agent.log(), /upgrade: lb4_flows translated/);
  t.regex(agent.log(), /upgrade: lb4_services shared/);
  t.is(await agent.stop(), 0);
}

test('an agent of another map layout takes over without cleanup, carries lb4_flows over and leaves no old pins; and back', async (t) => {
  t.timeout(4 * 60_000, 'three agent starts, slower while other suites run');
  const node = agentNode(t);
  const { ns, root, dir } = node;
  const base = defaultLayout();
  const other = variant?.layout;
  if (!other || !variant) throw new Error('the variant build is missing (see before)');
  t.not(other.id, base.id, 'a struct change changes the layout id');
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));

  const first = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS]);
  await waitHealthy(first, ns, HEALTH);
  t.deepEqual(layoutDirs(root).map((d) => basename(d)), [`v${base.id}`]);
  const flows = openPinned(join(root, `v${base.id}`), MapSpecs.flows);
  flows.update(tuple, flow);
  flows.close();
  t.is(await first.stop(), 0);

  await takeOver(t, node, variant.dir, other, base);
  await takeOver(t, node, DEFAULT_OBJECT_DIR, base, other);
});

test('maps pinned directly under the root (builds before layouts were versioned) are taken over and their pins removed', async (t) => {
  const node = agentNode(t);
  const { ns, root, dir } = node;
  writeFileSync(join(dir, 'web.yaml'), serviceYaml({ name: 'web', clusterIP: '203.0.113.1' }));
  const objects = datapathObjects();
  for (const path of [objects.xdpLb, objects.tcRevnat]) BpfObjectFile.load(path, { pinRoot: root }).close();
  const flows = openPinned(root, MapSpecs.flows);
  flows.update(tuple, flow);
  flows.close();
  const servicesId = withPinned(root, MapSpecs.services, (m) => m.info().id);

  const agent = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS]);
  await waitHealthy(agent, ns, HEALTH);
  const id = defaultLayout().id;
  t.deepEqual(layoutDirs(root).map((d) => basename(d)), [`v${id}`]);
  t.deepEqual(readdirSync(root).filter((n) => !statSync(join(root, n)).isDirectory()), [], 'no pin is left directly under the root');
  t.is(withPinned(join(root, `v${id}`), MapSpecs.services, (m) => m.info().id), servicesId, 'the same kernel map');
  t.deepEqual(flowIn(join(root, `v${id}`)), { ...flow }, 'the flow table is the same one');
  t.is(await agent.stop(), 0);
});
