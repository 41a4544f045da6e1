/**
 * Scenario 7: UDP through the VIP. In dsr mode the pods see the client and
 * answer from the VIP; in hybrid mode UDP to remote pods is SNATed (they see
 * node-a, which returns the answers from the VIP) while TCP stays DSR.
 */
import test from 'ava';
import type { UdpResult } from '../../src/lab/client-tool.js';
import type { Lab } from '../../src/lab/lab.js';
import { LAB_UDP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { podNode, sawLocalAndRemote, seenUntil, VIP_URL } from '../../src/lab/probes.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr' });

/** Queries (each from a new source port) until a local and a remote pod answered; at most 48. */
async function queries(l: Lab): Promise<UdpResult[]> {
  const out: UdpResult[] = [];
  const nodes = (): string[] => out.flatMap((r) => (r.answer ? [podNode(l.topo, r.answer.pod)] : []));
  while (out.length < 48 && !(nodes().includes('node-a') && nodes().some((n) => n !== 'node-a'))) {
    out.push(...await l.client({ op: 'udp', host: LAB_VIP, port: LAB_UDP_PORT, count: 12, timeoutMs: 1_000 }));
  }
  return out;
}

test.serial('dsr: UDP queries through the VIP are answered from the VIP, the pods see the client', async (t) => {
  const l = lab();
  const answers = await queries(l);
  t.log(tally(answers, (r) => (r.answer ? `${r.answer.pod} saw ${r.answer.remoteAddress}, answer from ${r.from}` : `error ${r.error}`)));
  t.true(answers.every((r) => r.answer !== undefined), 'every query answered');
  t.true(answers.every((r) => r.from === `${LAB_VIP}:${LAB_UDP_PORT}`), 'every answer from the VIP');
  t.true(answers.every((r) => r.answer?.remoteAddress === l.topo.client.address), 'the pods saw the client');
  t.true(answers.some((r) => r.answer?.pod === 'web-a1') && answers.some((r) => r.answer?.pod !== 'web-a1'), 'local and remote pods answered');
});

test.serial('hybrid: UDP to remote pods is SNATed through node-a and answered from the VIP; TCP stays DSR', async (t) => {
  const l = lab();
  await l.setMode('hybrid');
  const nodeA = l.node('node-a');
  const answers = await queries(l);
  t.log(tally(answers, (r) => (r.answer ? `${r.answer.pod} saw ${r.answer.remoteAddress}, answer from ${r.from}` : `error ${r.error}`)));
  t.true(answers.every((r) => r.answer !== undefined), 'every query answered');
  t.true(answers.every((r) => r.from === `${LAB_VIP}:${LAB_UDP_PORT}`), 'every answer from the VIP');
  // SNAT is what makes a remote pod's answer come back through node-a; a pod on node-a answers
  // through node-a anyway, so it is only DNATed and sees the client (as in Cilium's SNAT mode).
  for (const r of answers) {
    const local = r.answer?.pod === 'web-a1';
    t.is(r.answer?.remoteAddress, local ? l.topo.client.address : nodeA.address, `${r.answer?.pod ?? '?'} (${local ? 'local: DNAT only' : 'remote: SNAT'})`);
  }

  const { seen, errors } = await seenUntil(l, VIP_URL, sawLocalAndRemote);
  t.deepEqual(errors, []);
  t.deepEqual([...new Set(seen.map((s) => s.remoteAddress))], [l.topo.client.address], 'TCP: the pods saw the client (DSR)');
});
