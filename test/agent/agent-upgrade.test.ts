/**
 * An agent of another map layout takes over from a running one without
 * `cleanup`: its maps go under their own layout directory, the unchanged
 * ones are the same kernel maps, lb4_flows (whose struct differs) is
 * translated member by member, the programs are replaced in place (the
 * socket LB's cgroup links updated to the new build's programs), and no pin
 * of the old layout is left. Then back again.
 */
import test, { type ExecutionContext } from 'ava';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  BpfObjectFile, datapathObjects, DEFAULT_OBJECT_DIR, layoutDirs, native, pinnedCgroupLink, pinnedMapLayout, type BuildLayout, type CgroupLink,
} from '../../src/bpf/index.js';
import { MapSpecs, openPinned, withPinned } from '../../src/bpf/map-specs.js';
import type { Lb4Flow, Lb4Tuple } from '../../src/bpf/codecs/connections.js';
import { SOCKET_LB_PROGRAMS } from '../../src/agent/socket-lb.js';
import { agentNode, programIds, serviceYaml, spawnAgent, waitHealthy } from '../helpers/agent.js';
import { testCgroup } from '../helpers/cgroup.js';
import { buildLayoutVariant, defaultLayout, type Variant } from '../helpers/layout-variant.js';

const HEALTH = '127.0.0.1:9477';
const METRICS = '127.0.0.1:9476';

let variant: Variant | undefined;
test.before(() => { variant = buildLayoutVariant(); });
test.after.always(() => variant?.remove());

const tuple: Lb4Tuple = { saddr: '192.0.2.7', daddr: '203.0.113.1', sport: 40000, dport: 80, proto: 6, flags: 0 };
const flow: Lb4Flow = { backendId: 1, serviceId: 1, backendGeneration: 3, frontendGeneration: 2, revnatId: 1, state: 2, flags: 0, createdS: 1234 };

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
      return m.type.size === 1 ? raw.readUInt8(m.offset) : m.type.size === 2 ? raw.readUInt16LE(m.offset) : raw.readUInt32LE(m.offset);
    };
    return {
      backendId: read('backend_id'), serviceId: read('service_id'), backendGeneration: read('backend_generation'),
      frontendGeneration: read('frontend_generation'), revnatId: read('revnat_id'), state: read('state'), flags: read('flags'), createdS: read('created_s'),
    };
  } finally {
    native().closeFd(fd);
  }
}

/** The socket LB's links, pinned under `<root>/links` (outside every layout directory). */
function socketLinks(root: string): (CgroupLink | null)[] {
  return SOCKET_LB_PROGRAMS.map((p) => pinnedCgroupLink(join(root, 'links', p)));
}

/** Ids of the maps the program behind `link` reads. */
function progMapIds(link: CgroupLink): number[] {
  const fd = native().progFdById(link.progId);
  try {
    return native().progInfo(fd).mapIds;
  } finally {
    native().closeFd(fd);
  }
}

/** `cgroup`: every agent of a test on the same one, so the links are updated in place rather than moved. */
async function takeOver(
  t: ExecutionContext, node: ReturnType<typeof agentNode>, cgroup: string, objectDir: string, to: BuildLayout, from: BuildLayout,
): Promise<void> {
  const { ns, root, dir } = node;
  const oldDir = join(root, `v${from.id}`);
  const before = programIds(ns);
  const linksBefore = socketLinks(root);
  const oldConfigId = withPinned(oldDir, MapSpecs.config, (m) => m.info().id);
  const servicesId = withPinned(oldDir, MapSpecs.services, (m) => m.info().id);
  const agent = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS, '--bpf-object-dir', objectDir, '--cgroup-root', cgroup]);
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
  t.regex(agent.log(), /upgrade: lb4_sock_peer shared/, 'per-socket storage of an unchanged layout is the same map');
  // The cgroup links stay (the same links, updated in place) and run the new build's programs over the new layout's maps.
  const linksAfter = socketLinks(root);
  const configId = withPinned(newDir, MapSpecs.config, (m) => m.info().id);
  const read = new Set<number>();
  linksAfter.forEach((l, i) => {
    const was = linksBefore[i];
    if (!l || !was) throw new Error(`socket LB link ${SOCKET_LB_PROGRAMS[i] ?? i} is not pinned`);
    t.is(l.linkId, was.linkId, 'the same link (BPF_LINK_UPDATE, no detach)');
    t.not(l.progId, was.progId, 'its program replaced');
    for (const id of progMapIds(l)) read.add(id);
  });
  t.true(read.has(configId), 'the socket LB reads the new layout\'s config');
  t.false(read.has(oldConfigId), 'and not the old one\'s');
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

  const cgroup = testCgroup(t);
  const first = spawnAgent(t, ns, ['--node-name', 'node-a', '--bpffs-root', root, '--manifests', dir, '--devices', 'eth0',
    '--health-addr', HEALTH, '--metrics-addr', METRICS, '--cgroup-root', cgroup]);
  await waitHealthy(first, ns, HEALTH);
  t.deepEqual(layoutDirs(root).map((d) => basename(d)), [`v${base.id}`]);
  const flows = openPinned(join(root, `v${base.id}`), MapSpecs.flows);
  flows.update(tuple, flow);
  flows.close();
  t.is(await first.stop(), 0);

  await takeOver(t, node, cgroup, variant.dir, other, base);
  await takeOver(t, node, cgroup, DEFAULT_OBJECT_DIR, base, other);
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
