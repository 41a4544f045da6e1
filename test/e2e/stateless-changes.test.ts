/**
 * The stateless LB node in the lab (docs/datapath.md, "Stateless LB node"):
 * no LB node keeps state for DSR flows, so quiet keep-alive connections
 * survive backend changes only through the second chance and the rescue on
 * the backend nodes. 30 connections held over a scale-up across a Maglev
 * table-size boundary (9 -> 12 backends: M 1021 -> 2042) and the scale-down
 * back: every one answers on the same TCP connection from the same pod. And
 * the client's route to the VIP moving from node-a to node-c (an ECMP
 * rehash, or node-a lost) while the backend set changes: node-c computes
 * the same tables, so no connection is reset.
 */
import test from 'ava';
import type { HoldRound } from '../../src/lab/client-tool.js';
import { flowCount, nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { VIP_URL } from '../../src/lab/probes.js';
import { nsRun } from '../../src/lab/sh.js';
import { VIP_SUBNET } from '../../src/lab/topology.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 4, mode: 'dsr' });
const HELD = 30;
const EXTRA = ['web-a3', 'web-b3', 'web-c3'];

function pods(round: HoldRound): string[] {
  return round.results.map((r) => r.answer?.pod ?? `error: ${r.error ?? '?'}`);
}

test.serial('30 quiet keep-alive connections survive a scale-up across a table-size boundary and the scale-down (0 broken)', async (t) => {
  const l = lab();
  await l.setService({ without: EXTRA });
  const held = await l.hold(VIP_URL, HELD);
  const statsBefore = l.topo.nodes.map((n) => nodeStats(l.topo, n));
  try {
    const before = pods(held.first);
    t.log(`held: ${JSON.stringify(tally(before, (p) => p))}`);
    t.false(before.some((p) => p.startsWith('error')));

    for (const [step, service] of [['scale-up to 12', {}], ['scale-down to 9', { without: EXTRA }]] as const) {
      await l.setService(service);
      const after = await held.again();
      const broken = after.results.filter((r, i) => r.error !== undefined || r.answer?.pod !== before[i] || !r.reused);
      t.log(`${step}: ${HELD - broken.length} of ${HELD} connections answered from their pod on the same connection`);
      after.results.forEach((r, i) => {
        t.is(r.error, undefined, `${step}: connection ${i} (${before[i]}) failed`);
        t.is(r.answer?.pod, before[i], `${step}: connection ${i} moved`);
        t.true(r.reused, `${step}: connection ${i} was not the same TCP connection`);
      });
    }
    l.topo.nodes.forEach((n, i) => {
      t.log(`${n.name}: ${JSON.stringify(statsDelta(statsBefore[i] ?? {}, nodeStats(l.topo, n)))}`);
      t.is(flowCount(l.topo, n), 0, `${n.name}: no lb4_flows entry for DSR flows`);
    });
  } finally {
    held.end();
    await l.setService({});
  }
});

test.serial('the client\'s route to the VIP moves from node-a to node-c while a backend leaves: no connection is reset', async (t) => {
  const l = lab();
  const client = l.topo.client.ns;
  const via = (node: string): void => { nsRun(client, 'ip', ['route', 'replace', VIP_SUBNET, 'via', l.node(node).address]); };
  const held = await l.hold(VIP_URL, HELD);
  try {
    const before = pods(held.first);
    t.false(before.some((p) => p.startsWith('error')));
    const gone = before.find((p) => p !== before[0] && !p.startsWith('web-c')) ?? 'web-b0';
    via('node-c');
    await l.setService({ without: [gone] });
    const after = await held.again();
    const reset = after.results.filter((r, i) => before[i] !== gone && r.error !== undefined);
    t.log(`route via node-c, ${gone} removed: ${reset.length} of ${HELD} connections failed: ${JSON.stringify(reset.map((r) => r.error))}`);
    after.results.forEach((r, i) => {
      if (before[i] === gone) return; // its pod left the Service: not specified
      t.is(r.error, undefined, `connection ${i} (${before[i]}) failed`);
      t.is(r.answer?.pod, before[i], `connection ${i} moved`);
      t.true(r.reused, `connection ${i} was not the same TCP connection`);
    });
    t.is(flowCount(l.topo, l.node('node-c')), 0, 'node-c took the flows over without state');
  } finally {
    held.end();
    via('node-a');
    await l.setService({});
  }
});
