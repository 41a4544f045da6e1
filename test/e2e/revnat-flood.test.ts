/**
 * State that floods cannot evict (docs/datapath.md "Reverse-NAT state"): a
 * paired SYN+ACK flood of random tuples from the lab's client (each tuple a
 * SYN then an ACK that acknowledges nothing: the pod answers SYN-ACK, then
 * RST) runs while 9 quiet keep-alive connections wait and a paced download
 * runs, all to a pod on node-b through node-a. The flood writes node-b's
 * unconfirmed reverse-NAT table (4,096 entries here) many times over; the
 * established table keeps the real connections: none breaks. The flood's
 * rate and the tables' fill are logged.
 */
import test from 'ava';
import { MapSpecs } from '../../src/bpf/map-specs.js';
import { dsrRevnatEntries, mapFillOf, nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { synAckFlood } from '../../src/lab/flood.js';
import { LAB_HTTP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { sleep } from '../../src/lab/processes.js';
import { downloadUrl, MB, VIP_URL } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const UNCONFIRMED_MAX = 4096;
const lab = sharedLab(test, {
  nodes: 3, podsPerNode: 1, mode: 'dsr', service: { onlyNodes: ['node-b'] },
  agentArgs: ['--revnat-unconfirmed-max', String(UNCONFIRMED_MAX)],
});

const QUIET = 9;
/** Bounded for a 2-core machine shared with the lab: 15,000 tuples (30,000 packets) a second for 8 s. */
const FLOOD = { tuplesPerSecond: 15_000, seconds: 8, seed: 14 };

test.serial('a paired SYN+ACK flood of random tuples breaks no quiet or busy connection', async (t) => {
  t.timeout(3 * 60_000, 'a flood on a shared 2-core machine');
  const l = lab();
  const nodeA = l.node('node-a');
  const nodeB = l.node('node-b');
  const held = await l.hold(VIP_URL, QUIET);
  try {
    const before = held.first.results.map((r) => r.answer?.pod ?? `error: ${r.error ?? '?'}`);
    t.deepEqual(before, Array(QUIET).fill('web-b1'));
    const client = `${l.topo.client.address}:`;
    t.true(dsrRevnatEntries(l.topo, nodeB, 'established').filter((e) => e.client.startsWith(client)).length >= QUIET,
      'the held connections are established on node-b');

    // Paced at 3 MiB/s: about 14 s, started before the flood and outlasting it.
    const bytes = 42 * MB;
    const download = l.client({ op: 'download', url: downloadUrl(bytes, 3 * MB), timeoutMs: 120_000 }, 150_000);
    await sleep(1_000);
    const statsB = nodeStats(l.topo, nodeB);
    const flood = await synAckFlood(l.topo, { vip: LAB_VIP, port: LAB_HTTP_PORT, ...FLOOD });
    const fills = {
      'node-b lb4_dsr_revnat_new': mapFillOf(l.topo, nodeB, MapSpecs.dsrRevnatNew),
      'node-b lb4_dsr_revnat': mapFillOf(l.topo, nodeB, MapSpecs.dsrRevnat),
      'node-a lb4_flows': mapFillOf(l.topo, nodeA, MapSpecs.flows),
      'node-a lb4_flows_new': mapFillOf(l.topo, nodeA, MapSpecs.flowsNew),
    };
    const delta = statsDelta(statsB, nodeStats(l.topo, nodeB));
    t.log(`flood: ${JSON.stringify(flood)}`);
    t.log(`table fills after it: ${JSON.stringify(fills)}`);
    t.log(`node-b counters during it: ${JSON.stringify(delta)}`);
    t.true(flood.tuples >= 10 * UNCONFIRMED_MAX, 'the flood went far past the unconfirmed table\'s size');
    // Each flood tuple wrote an unconfirmed entry on node-b (the pod's RST then removes most: the fill is only a snapshot).
    t.true((delta['pass_decap'] ?? 0) >= flood.tuples, 'the flood reached node-b');
    t.true((delta['revnat_promoted'] ?? 0) < 100, 'no flood tuple was promoted');
    t.true(fills['node-b lb4_dsr_revnat'].entries < 100, 'the established table holds the real connections only');

    const after = await held.again();
    after.results.forEach((r, i) => {
      t.is(r.error, undefined, `quiet connection ${i} broke`);
      t.is(r.answer?.pod, before[i], `quiet connection ${i} moved`);
      t.true(r.reused, `quiet connection ${i} was not the same TCP connection`);
    });
    const d = await download;
    t.log(`download: ${JSON.stringify(d)}`);
    t.is(d.error, undefined, 'the busy connection was not reset');
    t.is(d.bytes, bytes);
  } finally {
    held.end();
  }
});
