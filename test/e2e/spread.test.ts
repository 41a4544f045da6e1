/**
 * Scenario 4: 1,000 connections through the VIP spread over all backends as
 * Maglev promises. Maglev gives every backend an equal share of its table
 * (within 1% for M >= 100 N); each connection's 5-tuple hash lands on a
 * slot, so the counts are multinomial around equal shares. The test accepts
 * them unless a chi-square goodness-of-fit test rejects equal shares at
 * p = 1e-4 (a false alarm once in 10,000 runs).
 */
import test from 'ava';
import { VIP_URL } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 2, mode: 'dsr' });

const CONNECTIONS = 1000;

/** Upper 1e-4 quantile of chi-square with k degrees of freedom (Wilson-Hilferty; within 3% for k >= 2: 26.3 for k = 5, exact 25.7). */
function chiSquareCritical(k: number): number {
  const z = 3.719; // standard normal upper 1e-4 quantile
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}

test.serial('1,000 connections spread over all six backends within Maglev\'s tolerance', async (t) => {
  const l = lab();
  const pods = l.topo.nodes.flatMap((n) => n.pods.map((p) => p.name));
  const r = await l.client({ op: 'spread', url: VIP_URL, count: CONNECTIONS, concurrency: 32 }, 120_000);
  t.log(`per pod: ${JSON.stringify(r.perPod)}; errors: ${JSON.stringify(r.errors)}; ${r.ms} ms`);
  t.deepEqual(r.errors, {});
  t.deepEqual(Object.keys(r.perPod).sort(), pods.sort(), 'every backend got connections');
  t.deepEqual(Object.keys(r.remoteAddresses), [l.topo.client.address]);

  const expected = CONNECTIONS / pods.length;
  const chi2 = pods.reduce((sum, p) => sum + ((r.perPod[p] ?? 0) - expected) ** 2 / expected, 0);
  const critical = chiSquareCritical(pods.length - 1);
  t.log(`chi-square ${chi2.toFixed(2)} (critical ${critical.toFixed(2)} at p = 1e-4, ${pods.length - 1} degrees of freedom)`);
  t.true(chi2 < critical, `counts ${JSON.stringify(r.perPod)} are not an even spread`);
});
