/**
 * Scenario 1: the pod sees the client's own address — for a backend on the
 * node the client's packets enter (node-a: DNAT only) and on other nodes
 * (Geneve with the DSR option) — through the VIP and through a NodePort.
 */
import test from 'ava';
import { nodePortUrl, sawLocalAndRemote, seenUntil, VIP_URL } from '../../src/lab/probes.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr' });

test.serial('through the VIP, local and remote backends see the client address', async (t) => {
  const { seen, errors } = await seenUntil(lab(), VIP_URL, sawLocalAndRemote);
  t.log(tally(seen, (s) => `${s.pod} saw ${s.remoteAddress}`));
  t.deepEqual(errors, []);
  t.true(seen.some((s) => s.local), 'a backend on node-a answered');
  t.true(seen.some((s) => !s.local), 'a backend on another node answered');
  t.deepEqual([...new Set(seen.map((s) => s.remoteAddress))], [lab().topo.client.address]);
});

test.serial('through node-a\'s NodePort, local and remote backends see the client address', async (t) => {
  const { seen, errors } = await seenUntil(lab(), nodePortUrl(lab().topo, 'node-a'), sawLocalAndRemote);
  t.log(tally(seen, (s) => `${s.pod} saw ${s.remoteAddress}`));
  t.deepEqual(errors, []);
  t.true(seen.some((s) => s.local));
  t.true(seen.some((s) => !s.local));
  t.deepEqual([...new Set(seen.map((s) => s.remoteAddress))], [lab().topo.client.address]);
});

test.serial('through node-b\'s NodePort, node-b\'s own pod and the others see the client address', async (t) => {
  const onB = (pods: readonly { node: string }[]): boolean => pods.some((s) => s.node === 'node-b') && pods.some((s) => s.node !== 'node-b');
  const { seen, errors } = await seenUntil(lab(), nodePortUrl(lab().topo, 'node-b'), onB);
  t.log(tally(seen, (s) => `${s.pod} saw ${s.remoteAddress}`));
  t.deepEqual(errors, []);
  t.true(onB(seen));
  t.deepEqual([...new Set(seen.map((s) => s.remoteAddress))], [lab().topo.client.address]);
});
