/**
 * The periodic resync (--sync-period) under a running agent: entries of
 * lb4_services, lb4_backends and a Maglev inner table changed or deleted by
 * hand (through the addon, as bpftool would) are repaired within one period,
 * counted in dsrlb_resync_repairs_total and logged.
 */
import test from 'ava';
import { BpfMap, currentLayoutDir, native } from '../../src/bpf/index.js';
import { liveBackends } from '../../src/bpf/backend-slots.js';
import type { Lb4Backend, Lb4Service } from '../../src/bpf/codecs/services.js';
import { maglevInnerSpec, MapSpecs, withPinned } from '../../src/bpf/map-specs.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentNode, serviceYaml, spawnAgent } from '../helpers/agent.js';
import { sh } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const PERIOD_S = 2;
const CLUSTER_IP = { address: '203.0.113.1', port: 80, proto: 6 };
const LB_IP = { address: '203.0.113.10', port: 80, proto: 6 };

interface Snapshot { services: Map<string, Lb4Service>; backends: Map<number, Lb4Backend>; table: number[] }

function inner<T>(root: string, serviceId: number, fn: (m: BpfMap<number, readonly number[]>) => T): T {
  const id = withPinned(root, MapSpecs.maglev, (m) => m.lookup(serviceId));
  if (id === undefined) throw new Error(`no table for service id ${serviceId}`);
  const m = new BpfMap(native().mapFdById(id), maglevInnerSpec.key, maglevInnerSpec.value, true, 'inner');
  try {
    return fn(m);
  } finally {
    m.close();
  }
}

function snapshot(root: string): Snapshot {
  const services = withPinned(root, MapSpecs.services, (m) => new Map(m.entries().map(([k, v]) => [`${k.address}:${k.port}`, v])));
  const backends = withPinned(root, MapSpecs.backends, (m) => new Map(liveBackends(m)));
  const sid = (services.get('203.0.113.1:80') as Lb4Service).serviceId;
  const table = inner(root, sid, (m) => m.entries().sort((a, b) => a[0] - b[0]).flatMap(([, ids]) => [...ids]));
  return { services, backends, table };
}

function metric(ns: string, name: string): Map<string, number> {
  const text = sh('nsenter', [`--net=/run/netns/${ns}`, 'node', '-e',
    'fetch("http://127.0.0.1:9476/metrics").then((r) => r.text()).then((s) => process.stdout.write(s))']);
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{map="([^"]+)"\\} (\\d+)`).exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

test('entries changed or deleted by hand are repaired within one --sync-period, and counted', async (t) => {
  const { ns, root, dir } = agentNode(t);
  writeFileSync(join(dir, 'web.yaml'), `${serviceYaml({ name: 'web', clusterIP: '203.0.113.1', lb: '203.0.113.10', nodePort: 30080,
    backends: ['198.18.1.10', '198.18.1.11', '198.18.1.12'] })}---
apiVersion: v1
kind: Node
metadata: { name: node-a }
status: { addresses: [{ type: InternalIP, address: 198.51.100.1 }] }
`);
  const a = spawnAgent(t, ns, ['--manifests', dir, '--node-name', 'node-a', '--devices', 'eth0', '--bpffs-root', root,
    '--metrics-addr', '127.0.0.1:9476', '--health-addr', '127.0.0.1:9477', '--sync-period', `${PERIOD_S}s`]);
  await waitFor(() => a.log().includes('"msg":"synced"'), 20_000, () => `agent did not sync:\n${a.log()}`);
  await waitFor(() => a.log().includes('the maps match the plan'), (PERIOD_S + 5) * 1000, () => `no resync ran:\n${a.log()}`);
  const maps = currentLayoutDir(root); // the agent's layout directory
  const good = snapshot(maps);

  // By hand: one frontend's value changed, another deleted, a backend's port changed, a table slot pointed elsewhere.
  withPinned(maps, MapSpecs.services, (m) => {
    m.update(CLUSTER_IP, { ...(m.lookup(CLUSTER_IP) as Lb4Service), backendCount: 1 });
    t.true(m.delete(LB_IP));
  });
  const [backendId, backend] = [...good.backends][0] as [number, Lb4Backend];
  withPinned(maps, MapSpecs.backends, (m) => m.update(backendId, { ...backend, port: 9999 }));
  const sid = (good.services.get('203.0.113.1:80') as Lb4Service).serviceId;
  const otherId = [...good.backends.keys()].find((id) => id !== good.table[0]) as number;
  inner(maps, sid, (m) => {
    const first = [...(m.lookup(0) as readonly number[])];
    first[0] = otherId;
    m.update(0, first);
  });
  t.notDeepEqual(snapshot(maps), good);

  const changedAt = Date.now();
  await waitFor(() => {
    const now = snapshot(maps);
    return now.services.size === good.services.size && JSON.stringify([...now.services]) === JSON.stringify([...good.services])
      && JSON.stringify([...now.backends]) === JSON.stringify([...good.backends]) && now.table.join() === good.table.join();
  }, (PERIOD_S + 3) * 1000, () => `not repaired:\n${a.log()}`);
  t.true(Date.now() - changedAt <= (PERIOD_S + 3) * 1000);
  // The maps are repaired before the agent's log line crosses the pipe to this process.
  await waitFor(() => /resync repaired map entries that differed from the plan/.test(a.log()), 5_000, () => `no repair logged:\n${a.log()}`);

  const repairs = metric(ns, 'dsrlb_resync_repairs_total');
  t.is(repairs.get('lb4_services'), 2, 'one frontend rewritten, one written again');
  t.is(repairs.get('lb4_backends'), 1);
  t.true((repairs.get('lb4_maglev') ?? 0) >= 1, 'the table rewritten');
});
