/**
 * Scenario 5: backend changes made by editing the agents' manifests while
 * connections are open. A removed backend: established connections to the
 * others go on (same backend, same TCP connection); new ones never reach
 * it. A terminating backend: its own established connections go on; new
 * connections never reach it.
 */
import test, { type ExecutionContext } from 'ava';
import type { HoldRound } from '../../src/lab/client-tool.js';
import { VIP_URL } from '../../src/lab/probes.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 2, mode: 'dsr' });
const HELD = 24;
const NEW_CONNECTIONS = 150;

function pods(round: HoldRound): string[] {
  return round.results.map((r) => r.answer?.pod ?? `error: ${r.error ?? '?'}`);
}

/** The pod holding the most connections, preferring one on another node than node-a (the encapsulated path). */
function pickVictim(round: HoldRound): string {
  const counts = Object.entries(tally(pods(round), (p) => p)).filter(([p]) => !p.startsWith('error') && !p.startsWith('web-a'));
  counts.sort((a, b) => b[1] - a[1]);
  const victim = counts[0]?.[0];
  if (!victim) throw new Error(`no remote pod among ${pods(round).join(', ')}`);
  return victim;
}

/** The pod of each held connection (all answered), and the one the scenario changes. */
function heldPods(t: ExecutionContext, round: HoldRound): { before: string[]; victim: string } {
  const before = pods(round);
  t.log(`held: ${JSON.stringify(tally(before, (p) => p))}`);
  t.false(before.some((p) => p.startsWith('error')));
  return { before, victim: pickVictim(round) };
}

test.serial('removing a backend keeps the established connections to the other backends', async (t) => {
  const l = lab();
  const held = await l.hold(VIP_URL, HELD);
  try {
    const { before, victim } = heldPods(t, held.first);

    await l.setService({ without: [victim] });
    const after = await held.again();
    after.results.forEach((r, i) => {
      if (before[i] === victim) return; // its fate is not specified: the pod still runs, the flow may go on
      t.is(r.error, undefined, `connection ${i} (${before[i]}) failed`);
      t.is(r.answer?.pod, before[i], `connection ${i} moved`);
      t.true(r.reused, `connection ${i} was not the same TCP connection`);
    });

    const fresh = await l.client({ op: 'spread', url: VIP_URL, count: NEW_CONNECTIONS, concurrency: 16 });
    t.log(`removed ${victim}; new connections: ${JSON.stringify(fresh.perPod)}`);
    t.deepEqual(fresh.errors, {});
    t.is(fresh.perPod[victim], undefined, `the removed backend ${victim} got new connections`);
  } finally {
    held.end();
    await l.setService({});
  }
});

test.serial('a terminating backend keeps its established connections and gets no new ones', async (t) => {
  const l = lab();
  const held = await l.hold(VIP_URL, HELD);
  try {
    const { before, victim } = heldPods(t, held.first);

    await l.setService({ terminating: [victim] });
    const after = await held.again();
    after.results.forEach((r, i) => {
      t.is(r.error, undefined, `connection ${i} (${before[i]}) failed`);
      t.is(r.answer?.pod, before[i], `connection ${i} moved`);
      t.true(r.reused, `connection ${i} was not the same TCP connection`);
    });
    t.true(after.results.some((r) => r.answer?.pod === victim), 'the terminating backend still served its connections');

    const fresh = await l.client({ op: 'spread', url: VIP_URL, count: NEW_CONNECTIONS, concurrency: 16 });
    t.log(`terminating ${victim}; new connections: ${JSON.stringify(fresh.perPod)}; errors ${JSON.stringify(fresh.errors)}`);
    t.deepEqual(fresh.errors, {});
    t.is(fresh.perPod[victim], undefined, `the terminating backend ${victim} got new connections`);
  } finally {
    held.end();
    await l.setService({});
  }
});
