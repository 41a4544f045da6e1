/**
 * Scenario 6: node-a's agent is killed (kill -9) in the middle of a transfer
 * through the VIP to a pod on node-b, and started again. The programs stay
 * attached and the maps pinned while no agent runs; the new agent adopts
 * them. The transfer completes, byte for byte, without a reset.
 */
import test from 'ava';
import { nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { alive, sleep } from '../../src/lab/processes.js';
import { downloadUrl, MB } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr', service: { onlyNodes: ['node-b'] } });

test.serial('kill -9 and restart of node-a\'s agent during a transfer: it completes with no reset', async (t) => {
  const l = lab();
  const nodeA = l.node('node-a');
  const agent = l.agent('node-a');
  const bytes = 72 * MB;
  // Paced at 6 MiB/s: about 12 s, so the agent is down and back while it runs, even on a
  // machine several times slower than an idle 2-vCPU VM (CI's has been).
  const transfer = l.client({ op: 'download', url: downloadUrl(bytes, 6 * MB), timeoutMs: 60_000 }, 90_000);
  let finished = false;
  void transfer.then(() => { finished = true; });
  await sleep(800);

  const pid = agent.process?.pid ?? 0;
  await agent.stop('SIGKILL');
  t.false(alive(pid), 'the agent is gone');
  const whileDown = nodeStats(l.topo, nodeA);
  await sleep(1_000);
  const stillForwarding = statsDelta(whileDown, nodeStats(l.topo, nodeA));
  t.log(`node-a datapath with no agent for 1 s: ${JSON.stringify(stillForwarding)}`);
  t.true((stillForwarding['tx_encap'] ?? 0) > 0, 'node-a kept encapsulating with no agent');

  await agent.start();
  t.not(agent.process?.pid, pid);
  t.false(finished, 'the new agent synced while the transfer was still running');
  const r = await transfer;
  t.log(r);
  t.is(r.error, undefined, 'no reset');
  t.is(r.bytes, bytes);
  t.is(r.pod, 'web-b1');
});
