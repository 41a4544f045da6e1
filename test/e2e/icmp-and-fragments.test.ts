/**
 * What real traffic sends on the reply path (issue 15), with pods only on
 * node-b and node-c (remote to node-a, which the client's VIP route uses):
 * - a pod's ICMP port unreachable reaches a connected UDP client as
 *   ECONNREFUSED (tc egress rewrites the error to the frontend's);
 * - a 3,000-byte UDP answer, fragmented by the pod's stack, arrives whole
 *   (every fragment leaves with the frontend's address);
 * - a client behind a router with a 1,400-byte link downloads a large file:
 *   the router's fragmentation-needed, sent to the VIP, reaches node-a, which
 *   translates it for the pod and encapsulates it to the pod's node, so the
 *   pod lowers its path MTU (PMTUD from the pod's side).
 */
import test from 'ava';
import { runTool } from '../../src/lab/client.js';
import { cachedPathMtu } from '../../src/lab/counters.js';
import { nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { addFarClient } from '../../src/lab/far-client.js';
import { LAB_CLOSED_UDP_PORT, LAB_UDP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { VIP_URL } from '../../src/lab/probes.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr', service: { onlyNodes: ['node-b', 'node-c'] } });
const BACKEND_NODES = ['node-b', 'node-c'];

function backendStats(l: ReturnType<typeof lab>): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const n of BACKEND_NODES) for (const [k, v] of Object.entries(nodeStats(l.topo, l.node(n)))) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

test.serial('a connected UDP client of the VIP gets ECONNREFUSED from a closed port of a pod on another node', async (t) => {
  const l = lab();
  const before = backendStats(l);
  // Six: a pod answers a burst of six errors to one peer before ICMP rate limiting (XRLIM_BURST_FACTOR) applies.
  const results = await l.client({ op: 'udp', host: LAB_VIP, port: LAB_CLOSED_UDP_PORT, count: 6, connected: true, timeoutMs: 2_000 });
  const stats = statsDelta(before, backendStats(l));
  t.log(tally(results, (r) => r.error ?? 'answered'), stats);
  t.deepEqual(results.map((r) => r.error), Array(6).fill('ECONNREFUSED'));
  t.true((stats['icmp_to_client'] ?? 0) >= 6, 'the pods\' errors were rewritten at tc egress');
});

test.serial('a 3,000-byte UDP answer, fragmented by the pod, arrives whole from the VIP', async (t) => {
  const l = lab();
  const before = backendStats(l);
  const results = await l.client({ op: 'udp', host: LAB_VIP, port: LAB_UDP_PORT, count: 12, replyBytes: 3000, timeoutMs: 2_000 });
  const stats = statsDelta(before, backendStats(l));
  t.log(tally(results, (r) => (r.error ? `error ${r.error}` : `${r.bytes ?? 0} bytes from ${r.from ?? '?'} (${r.answer?.pod ?? '?'})`)), stats);
  for (const r of results) {
    t.is(r.error, undefined);
    t.is(r.bytes, 3000);
    t.is(r.from, `${LAB_VIP}:${LAB_UDP_PORT}`);
  }
  t.true((stats['frag_revnat'] ?? 0) >= 12 * 3, 'every fragment of every answer was rewritten');
});

test.serial('a client behind a 1,400-byte link completes a large download: the pod learns the path MTU through node-a', async (t) => {
  const l = lab();
  const far = addFarClient(l.topo, 1400);
  t.teardown(() => far.remove());
  const nodeA = l.node('node-a');
  const beforeA = nodeStats(l.topo, nodeA);
  const bytes = 4_000_000;

  const d = await runTool(far.ns, far.address, { op: 'download', url: `${VIP_URL}bytes/${bytes}`, timeoutMs: 30_000 });

  const statsA = statsDelta(beforeA, nodeStats(l.topo, nodeA));
  const pod = l.topo.nodes.flatMap((n) => n.pods).find((p) => p.name === d.pod);
  const podPmtu = pod ? cachedPathMtu(pod.ns, far.address) : undefined;
  t.log({ download: d, nodeA: statsA, podPathMtu: podPmtu });
  t.is(d.error, undefined);
  t.is(d.bytes, bytes);
  t.true(['web-b1', 'web-c1'].includes(d.pod ?? ''), 'served by a pod on another node');
  t.true((statsA['icmp_to_backend'] ?? 0) >= 1, 'node-a sent the router\'s error on to the pod');
  t.is(podPmtu, 1400, 'the pod lowered its path MTU to the far client');
});
