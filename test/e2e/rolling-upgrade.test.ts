/**
 * The Helm chart's rolling update in the lab: every node's agent replaced in
 * turn (stop, start, ready, next node: maxUnavailable 1) while a download runs
 * through the VIP and short connections keep arriving. The datapath keeps
 * serving while a node has no agent, and each new agent adopts the pinned
 * maps: no reset, no failed connection.
 */
import test from 'ava';
import { sleep } from '../../src/lab/processes.js';
import { downloadUrl, MB, VIP_URL } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr' });

test.serial('rolling replacement of every agent during a download and a stream of short connections: nothing fails', async (t) => {
  const l = lab();
  const bytes = 120 * MB;
  // Paced at 4 MiB/s: about 30 s, longer than three agent replacements even on a machine
  // several times slower than an idle 2-vCPU VM (CI's has been).
  const transfer = l.client({ op: 'download', url: downloadUrl(bytes, 4 * MB), timeoutMs: 120_000 }, 150_000);
  let finished = false;
  void transfer.then(() => { finished = true; });

  let rolling = true;
  let connections = 0;
  const errors: Record<string, number> = {};
  const stream = (async () => {
    while (rolling) {
      const r = await l.client({ op: 'spread', url: VIP_URL, count: 40, concurrency: 4, timeoutMs: 3_000 });
      connections += Object.values(r.perPod).reduce((a, b) => a + b, 0);
      for (const [e, n] of Object.entries(r.errors)) errors[e] = (errors[e] ?? 0) + n;
    }
  })();
  await sleep(800);

  const rolled = await l.rollAgents();
  t.log(`each node without an agent (ms): ${JSON.stringify(rolled)}`);
  const stillDownloading = !finished;
  rolling = false;
  await stream;
  const r = await transfer;
  t.log({ download: r, connections, errors });

  t.is(rolled.length, 3);
  t.true(stillDownloading, 'the download spanned the whole rollout');
  t.is(r.error, undefined, 'no reset');
  t.is(r.bytes, bytes);
  t.deepEqual(errors, {}, 'no failed connection');
  t.true(connections >= 100, `short connections kept arriving during the rollout (${connections})`);
});
