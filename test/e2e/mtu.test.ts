/**
 * Scenario 8: every link has MTU 1500, so a full-size client packet does not
 * fit once node-a adds the Geneve encapsulation. TCP: the backend node clamps
 * the MSS of the SYN-ACK, so a 1 MB upload to pods on other nodes completes.
 * Anything else with DF set: node-a answers ICMP fragmentation-needed with
 * the usable MTU, and the client's kernel lowers its path MTU to the VIP.
 */
import test from 'ava';
import { cachedPathMtu, linkMtu } from '../../src/lab/counters.js';
import { nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { LAB_UDP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { VIP_URL } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr', service: { onlyNodes: ['node-b', 'node-c'] } });
const MB = 1_000_000;

test.serial('a 1 MB upload from a client with MTU 1500 completes through the encapsulating path', async (t) => {
  const l = lab();
  t.is(linkMtu(l.topo.client.ns, l.topo.client.uplink), 1500);
  for (const n of l.topo.nodes) t.is(linkMtu(n.ns, n.uplink), 1500);
  const before = Object.fromEntries(['node-b', 'node-c'].map((n) => [n, nodeStats(l.topo, l.node(n))]));

  const uploads = [];
  for (let i = 0; i < 4; i++) uploads.push(await l.client({ op: 'upload', url: VIP_URL, bytes: MB, timeoutMs: 20_000 }));
  t.log(uploads);
  for (const u of uploads) {
    t.is(u.error, undefined);
    t.is(u.answer?.bytes, MB);
    t.is(u.answer?.remoteAddress, l.topo.client.address);
    t.true(['web-b1', 'web-c1'].includes(u.answer?.pod ?? ''), 'served on another node than node-a');
  }
  const clamped = ['node-b', 'node-c'].reduce((k, n) => k + (statsDelta(before[n] ?? {}, nodeStats(l.topo, l.node(n)))['mss_clamped'] ?? 0), 0);
  t.log(`SYN-ACKs clamped on node-b and node-c: ${clamped}`);
  t.true(clamped >= uploads.length, 'every connection\'s SYN-ACK had its MSS clamped');
});

test.serial('a datagram too big once encapsulated gets ICMP fragmentation-needed; the client lowers its path MTU', async (t) => {
  const l = lab();
  const nodeA = l.node('node-a');
  const before = nodeStats(l.topo, nodeA);
  t.is(cachedPathMtu(l.topo.client.ns, LAB_VIP), undefined, 'no path MTU cached yet');
  // 1472 bytes of payload: a 1500-byte IPv4 packet with DF (Linux sets DF on UDP by default).
  await l.client({ op: 'udp', host: LAB_VIP, port: LAB_UDP_PORT, size: 1472, count: 1, timeoutMs: 1_000 });
  const stats = statsDelta(before, nodeStats(l.topo, nodeA));
  const pmtu = cachedPathMtu(l.topo.client.ns, LAB_VIP);
  t.log(`node-a datapath: ${JSON.stringify(stats)}; client path MTU to ${LAB_VIP}: ${pmtu}`);
  t.true((stats['tx_too_big'] ?? 0) >= 1, 'node-a sent ICMP fragmentation-needed');
  t.truthy(pmtu);
  t.true((pmtu ?? 1500) < 1500 && (pmtu ?? 0) >= 1400, 'the client learned the usable MTU');
});
