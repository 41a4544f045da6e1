/**
 * Upgrades across map layouts in the lab: every node's agent is replaced,
 * one node after the other, by a build whose lb4_flow struct differs
 * (test/helpers/layout-variant.ts), during a paced download through the VIP,
 * a stream of short connections and a set of held keep-alive connections;
 * then back to the default build. No reset, no failed connection, held
 * connections stay on their pod over the same TCP connection, and each node
 * keeps only the new layout's pins.
 */
import test, { type ExecutionContext } from 'ava';
import { basename } from 'node:path';
import { DEFAULT_OBJECT_DIR, layoutDirs, type BuildLayout } from '../../src/bpf/index.js';
import { agentBpffsRoot } from '../../src/lab/agents.js';
import type { SpreadResult } from '../../src/lab/client-tool.js';
import { downloadUrl, MB, VIP_URL } from '../../src/lab/probes.js';
import { buildLayoutVariant, defaultLayout, type Variant } from '../helpers/layout-variant.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr' });
let variant: Variant | undefined;
test.before(() => { variant = buildLayoutVariant(); });
test.after.always(() => variant?.remove());

const HELD = 12;
/** Short connections per client run; two streams of runs back to back, 4 connections at a time each, until the takeovers are done. */
const BATCH = 200;

/** Runs of short connections, one after the other, until `done()`: every result. */
async function shortConnections(done: () => boolean): Promise<SpreadResult[]> {
  const out: SpreadResult[] = [];
  while (!done()) out.push(await lab().client({ op: 'spread', url: VIP_URL, count: BATCH, concurrency: 4, timeoutMs: 10_000 }, 60_000));
  return out;
}

async function upgradeAll(t: ExecutionContext, objectDir: string, to: BuildLayout): Promise<void> {
  const l = lab();
  const held = await l.hold(VIP_URL, HELD);
  try {
    const before = held.first.results.map((r) => r.answer?.pod ?? `error: ${r.error ?? '?'}`);
    t.log(`held: ${JSON.stringify(tally(before, (p) => p))}`);
    // Paced at 5 MiB/s: about 30 s. The three takeovers take about 10 s on an idle
    // 2-vCPU VM and more on a loaded one; the download must outlast them.
    const bytes = 150 * MB;
    const download = l.client({ op: 'download', url: downloadUrl(bytes, 5 * MB), timeoutMs: 120_000 }, 150_000);
    const started = Date.now();
    let downloading = true;
    void download.finally(() => { downloading = false; }).catch(() => undefined);
    let upgraded = false;
    const streams = Promise.all([shortConnections(() => upgraded), shortConnections(() => upgraded)]);
    for (const node of l.topo.nodes) {
      const agent = l.agent(node.name);
      await agent.stop('SIGTERM');
      agent.options = { ...agent.options, bpfObjectDir: objectDir };
      await agent.start();
      t.deepEqual(layoutDirs(agentBpffsRoot(l.topo, node)).map((d) => basename(d)), [`v${to.id}`], `${node.name}: only the new layout is pinned`);
    }
    upgraded = true;
    t.log(`takeovers: ${Date.now() - started} ms`);
    t.true(downloading, 'the download was still running when the last node was upgraded');
    const d = await download;
    t.log(`download: ${JSON.stringify(d)}`);
    t.is(d.error, undefined, 'no reset');
    t.is(d.bytes, bytes);
    const runs = (await streams).flat();
    const perPod: Record<string, number> = {};
    for (const r of runs) for (const [pod, n] of Object.entries(r.perPod)) perPod[pod] = (perPod[pod] ?? 0) + n;
    t.log(`short connections: ${runs.length} runs of ${BATCH}, ${JSON.stringify(perPod)}`);
    t.true(runs.length >= 4, 'the short connections ran through the takeovers');
    t.deepEqual(runs.flatMap((r) => Object.entries(r.errors)), [], 'no failed connection');
    t.is(Object.values(perPod).reduce((a, b) => a + b, 0), runs.length * BATCH);
    const after = await held.again();
    after.results.forEach((r, i) => {
      t.is(r.error, undefined, `held connection ${i} failed`);
      t.is(r.answer?.pod, before[i], `held connection ${i} moved`);
      t.true(r.reused, `held connection ${i} was not the same TCP connection`);
    });
  } finally {
    held.end();
  }
}

test.serial('a build with another map layout takes over every node during a download and a stream of short connections', async (t) => {
  t.timeout(3 * 60_000);
  if (!variant) throw new Error('the variant build is missing (see before)');
  t.not(variant.layout.id, defaultLayout().id);
  await upgradeAll(t, variant.dir, variant.layout);
});

test.serial('and back to the default build, the same way', async (t) => {
  t.timeout(3 * 60_000);
  await upgradeAll(t, DEFAULT_OBJECT_DIR, defaultLayout());
});
