/** kube-proxy's node health endpoint (port 10256): the same status codes and JSON keys. */
import test from 'ava';
import type { V1Node } from '@kubernetes/client-node';
import { close, listen } from '../../src/agent/http.js';
import { nodeEligible, proxyHealthAnswer, startProxyHealthServer, TO_BE_DELETED_TAINT, type ProxyHealthState } from '../../src/agent/proxy-health.js';

const NOW = Date.parse('2026-01-02T03:04:05.000Z');

test('healthy and eligible: 200, lastUpdated is now (kube-proxy\'s compatibility rule)', (t) => {
  const a = proxyHealthAnswer('/healthz', { healthy: true, lastSyncedAt: NOW - 60_000, nodeEligible: true }, NOW);
  t.is(a.status, 200);
  t.deepEqual(a.body, { lastUpdated: '2026-01-02T03:04:05.000Z', currentTime: '2026-01-02T03:04:05.000Z', nodeEligible: true });
});

test('unhealthy: 503 with the last successful sync, Go\'s zero time before any', (t) => {
  const after = proxyHealthAnswer('/healthz', { healthy: false, lastSyncedAt: NOW - 5000, nodeEligible: true }, NOW);
  t.is(after.status, 503);
  t.is(after.body.lastUpdated, '2026-01-02T03:04:00.000Z');
  const before = proxyHealthAnswer('/healthz', { healthy: false, nodeEligible: true }, NOW);
  t.is(before.status, 503);
  t.is(before.body.lastUpdated, '0001-01-01T00:00:00Z');
});

test('a node being deleted: /healthz 503 with nodeEligible false, /livez still 200 without the key', (t) => {
  const s: ProxyHealthState = { healthy: true, lastSyncedAt: NOW, nodeEligible: false };
  const h = proxyHealthAnswer('/healthz', s, NOW);
  t.is(h.status, 503);
  t.false(h.body.nodeEligible);
  const l = proxyHealthAnswer('/livez', s, NOW);
  t.is(l.status, 200);
  t.deepEqual(Object.keys(l.body), ['lastUpdated', 'currentTime']);
});

test('eligibility: deletionTimestamp or the Cluster Autoscaler\'s taint; an unknown node is eligible', (t) => {
  const node = (extra: Partial<V1Node>): V1Node => ({ metadata: { name: 'n' }, ...extra });
  t.true(nodeEligible(undefined));
  t.true(nodeEligible(node({ spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } })));
  t.false(nodeEligible(node({ spec: { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] } })));
  t.false(nodeEligible(node({ metadata: { name: 'n', deletionTimestamp: new Date(NOW) } })));
});

test('served over HTTP: JSON, nosniff, 404 elsewhere, and a taken port is an error naming the flag', async (t) => {
  let state: ProxyHealthState = { healthy: true, lastSyncedAt: Date.now(), nodeEligible: true };
  const server = await startProxyHealthServer({ host: '127.0.0.1', port: 0 }, () => state);
  t.teardown(() => close(server));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.is(ok.status, 200);
  t.is(ok.headers.get('content-type'), 'application/json');
  t.is(ok.headers.get('x-content-type-options'), 'nosniff');
  const body = await ok.json() as Record<string, unknown>;
  t.deepEqual(Object.keys(body), ['lastUpdated', 'currentTime', 'nodeEligible']);
  state = { ...state, nodeEligible: false };
  t.is((await fetch(`http://127.0.0.1:${port}/healthz?x=1`)).status, 503);
  t.is((await fetch(`http://127.0.0.1:${port}/livez`)).status, 200);
  t.is((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 404);

  const squatter = await listen(() => undefined, '127.0.0.1', 0, 'squatter');
  t.teardown(() => close(squatter));
  const taken = squatter.address();
  const takenPort = typeof taken === 'object' && taken ? taken.port : 0;
  const e = await t.throwsAsync(startProxyHealthServer({ host: '127.0.0.1', port: takenPort }, () => state));
  t.regex(e?.message ?? '', /--healthz-bind-address: EADDRINUSE/);
});
