/**
 * The Kubernetes source against an in-process API server speaking the real
 * list/watch protocol (docs/design.md §5), including its failures.
 */
import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import { LIST_PAGE_SIZE } from '../../src/k8s/list.js';
import type { ClusterState } from '../../src/api/types.js';
import type { Resource } from './fake-apiserver.js';
import { node, service, slice, until } from './helpers.js';
import { harness, seeded } from './source-harness.js';

function spec(state: ClusterState, key: string): V1Service['spec'] {
  return state.services.get(key)?.spec;
}

test('the first state has all three resources, keyed namespace/name (Nodes by name)', async (t) => {
  const h = await harness(t, await seeded());
  t.is(h.changes[0]?.reason, 'initial');
  t.deepEqual([...h.latest().services.keys()], ['shop/web']);
  t.deepEqual([...h.latest().endpointSlices.keys()], ['shop/web-abc']);
  t.deepEqual([...h.latest().nodes.keys()], ['node-a']);
  t.is(spec(h.latest(), 'shop/web')?.clusterIP, '10.96.0.10');
  // The list uses the cluster-wide paths, in pages of client-go's size; the watch asks for bookmarks and a deadline.
  const list = h.api.requests.find((r) => r.resource === 'services' && r.verb === 'list');
  t.is(list?.query.limit, String(LIST_PAGE_SIZE));
  const watch = h.api.requests.find((r) => r.resource === 'services' && r.verb === 'watch');
  t.is(watch?.namespace, undefined);
  t.is(watch?.query.allowWatchBookmarks, 'true');
  t.is(watch?.query.timeoutSeconds, '60');
  t.deepEqual(h.errors, []);
});

test('nothing is handed over until every resource has listed', async (t) => {
  const api = await seeded();
  api.failNext({ resource: 'nodes', verb: 'list', status: 403, times: 3 });
  const h = await harness(t, api, {}, false);
  await until(t, () => h.errors.filter((e) => e.resource === 'nodes').length >= 3, 'three failed node lists');
  t.true(h.states.length === 0 || h.latest().nodes.size === 1, 'never a state without the nodes');
  await h.source.whenSynced(15_000);
  t.is(h.latest().nodes.size, 1);
  const err = h.errors.find((e) => e.resource === 'nodes');
  t.is(err?.kind, 'list');
  t.is(err?.code, 'ERR_K8S_LIST');
  t.regex(err?.remedy ?? '', /RBAC/);
});

const cases: { resource: Resource; field: keyof ClusterState; key: string; make: (v: number) => object; probe: (s: ClusterState) => unknown }[] = [
  {
    resource: 'services', field: 'services', key: 'shop/api', make: (v) => service('shop', 'api', `10.96.0.${v}`),
    probe: (s) => s.services.get('shop/api')?.spec?.clusterIP,
  },
  {
    resource: 'endpointslices', field: 'endpointSlices', key: 'shop/api-xyz', make: (v) => slice('shop', 'api-xyz', 'api', [`10.244.2.${v}`]),
    probe: (s) => s.endpointSlices.get('shop/api-xyz')?.endpoints[0]?.addresses[0],
  },
  {
    resource: 'nodes', field: 'nodes', key: 'node-b', make: (v) => node('node-b', `198.51.100.${v}`),
    probe: (s) => s.nodes.get('node-b')?.status?.addresses?.[0]?.address,
  },
];

for (const c of cases) {
  test(`${c.resource}: added, modified and deleted objects follow the watch`, async (t) => {
    const h = await harness(t, await seeded());
    h.api.put(c.resource, c.make(20));
    await until(t, () => c.probe(h.latest()) !== undefined, 'the new object');
    t.regex(String(c.probe(h.latest())), /\.20$/);
    t.true(h.changes.at(-1)?.changed[c.field].has(c.key));

    h.api.put(c.resource, c.make(21));
    await until(t, () => String(c.probe(h.latest())).endsWith('.21'), 'the modified object');

    t.true(h.api.remove(c.resource, c.resource === 'nodes' ? undefined : 'shop', c.key.split('/').at(-1) ?? ''));
    await until(t, () => !h.latest()[c.field].has(c.key), 'the deletion');
    t.true(h.changes.at(-1)?.changed[c.field].has(c.key));
    t.is(h.changes.at(-1)?.reason, 'update');
    t.deepEqual(h.errors, []);
  });
}

test('a bookmark moves the resume point forward, so a reconnect after compaction needs no relist', async (t) => {
  const h = await harness(t, await seeded());
  // Other resources move the shared resourceVersion on; the services watch only learns it from a bookmark.
  for (let i = 0; i < 5; i++) h.api.put('nodes', node(`node-x${i}`, `198.51.100.${50 + i}`));
  await until(t, () => h.latest().nodes.size === 6, 'the new nodes');
  t.is(h.api.bookmark('services'), 1);
  const watcher = (h.source as unknown as { watchers: { kind: string; resourceVersion: string }[] }).watchers.find((w) => w.kind === 'services');
  await until(t, () => watcher?.resourceVersion === h.api.resourceVersion, 'the bookmark applied');

  const lists = h.api.requestCount('services', 'list');
  const watches = h.api.requestCount('services', 'watch');
  h.api.compact();
  h.api.endWatches('services');
  await until(t, () => h.api.requestCount('services', 'watch') > watches && h.api.watcherCount('services') === 1, 'the watch reopened');
  const last = h.api.requests.filter((r) => r.resource === 'services' && r.verb === 'watch').at(-1);
  t.is(last?.query.resourceVersion, h.api.resourceVersion);
  t.is(h.api.requestCount('services', 'list'), lists, 'no relist');
  h.api.put('services', service('shop', 'after', '10.96.0.30'));
  await until(t, () => h.latest().services.has('shop/after'), 'a change after the reconnect');
  t.deepEqual(h.errors, []);
});

test('410 Gone as an ERROR event: the source relists and picks up changes it never saw as events', async (t) => {
  const h = await harness(t, await seeded());
  h.api.put('services', service('shop', 'old', '10.96.0.11'));
  await until(t, () => h.latest().services.has('shop/old'), 'shop/old');
  const lists = h.api.requestCount('services', 'list');
  const handedOver = h.states.length;

  h.api.silence(true); // the client misses these events
  h.api.remove('services', 'shop', 'old');
  h.api.put('services', service('shop', 'new', '10.96.0.12'));
  h.api.put('services', service('shop', 'web', '10.96.0.99'));
  h.api.compact();
  h.api.silence(false);
  t.is(h.api.expireWatches('services'), 1);

  await until(t, () => h.api.requestCount('services', 'list') > lists, 'a relist');
  await until(t, () => h.latest().services.has('shop/new') && !h.latest().services.has('shop/old'), 'the relisted state');
  t.is(spec(h.latest(), 'shop/web')?.clusterIP, '10.96.0.99');
  // The relist diff went out as one change, and never via an emptier state.
  for (const s of h.states.slice(handedOver)) t.true(s.services.has('shop/web'));
  t.deepEqual(h.errors, []);
});

test('410 Gone when resuming a watch from a compacted resourceVersion: relist', async (t) => {
  const h = await harness(t, await seeded());
  const lists = h.api.requestCount('endpointslices', 'list');
  h.api.silence(true);
  h.api.put('endpointslices', slice('shop', 'web-abc', 'web', ['10.244.1.5', '10.244.1.6']));
  h.api.compact();
  h.api.silence(false);
  h.api.endWatches('endpointslices');
  await until(t, () => h.latest().endpointSlices.get('shop/web-abc')?.endpoints.length === 2, 'the relisted slice');
  t.is(h.api.requestCount('endpointslices', 'list'), lists + 1);
});

test('API server gone for a while: the last state is kept, errors are counted, and it converges when back', async (t) => {
  const h = await harness(t, await seeded());
  h.api.put('services', service('shop', 'doomed', '10.96.0.13'));
  await until(t, () => h.latest().services.has('shop/doomed'), 'shop/doomed');
  const handedOver = h.states.length;
  const readBefore = h.source.status().lastCompleteReadAt ?? Infinity;

  await h.api.goAway();
  await until(t, () => h.errors.filter((e) => e.kind === 'watch').length >= 6, 'a few failed reconnects');
  t.deepEqual([...h.source.status().failing].sort(), ['endpointSlices', 'nodes', 'services']);
  t.is(h.states.length, handedOver, 'nothing handed over while the server is away');
  t.true(h.source.status().synced);

  // Meanwhile the cluster moved on, and the server forgot the old history.
  h.api.remove('services', 'shop', 'doomed');
  h.api.put('services', service('shop', 'born', '10.96.0.14'));
  h.api.put('nodes', node('node-c', '198.51.100.3'));
  h.api.compact();
  await h.api.comeBack();

  await until(t, () => h.latest().services.has('shop/born') && !h.latest().services.has('shop/doomed') && h.latest().nodes.has('node-c'), 'convergence');
  await until(t, () => h.source.status().failing.length === 0, 'no resource failing');
  t.true((h.source.status().lastCompleteReadAt ?? 0) > readBefore, 'the relist after the outage is the last complete read');
  for (const s of h.states.slice(handedOver)) t.true(s.services.has('shop/web') && s.endpointSlices.has('shop/web-abc'), 'never emptier');
  const counts = h.source.errorCounts();
  t.true(counts.some((c) => c.resource === 'services' && c.kind === 'watch' && c.count >= 1));
  t.true(h.errors.every((e) => e.code === 'ERR_K8S_WATCH' || e.code === 'ERR_K8S_LIST'));
});

test('a 500 on the watch stops client-node\'s informer; the source restarts it', async (t) => {
  const h = await harness(t, await seeded());
  h.api.failNext({ resource: 'services', verb: 'watch', status: 500, times: 2 });
  h.api.endWatches('services');
  await until(t, () => h.errors.length >= 2, 'two watch errors');
  const err = h.errors[0];
  t.is(err?.kind, 'watch');
  t.is(err?.context.statusCode, 500);
  t.regex(err?.message ?? '', /HTTP 500/);
  await until(t, () => h.api.watcherCount('services') === 1, 'the watch reopened');
  t.true(h.source.stats().services.restarts >= 2);
  h.api.put('services', service('shop', 'later', '10.96.0.15'));
  await until(t, () => h.latest().services.has('shop/later'), 'changes flow again');
  t.is(h.source.stats().services.lists, 1, 'resumed from its resourceVersion, no relist');
});

test('a 500 on the first list is retried', async (t) => {
  const api = await seeded();
  api.failNext({ resource: 'services', verb: 'list', status: 500 });
  const h = await harness(t, api);
  t.is(h.latest().services.size, 1);
  t.is(h.errors[0]?.kind, 'list');
  t.is(h.errors[0]?.context.statusCode, 500);
});

test('an invalid object in the stream is reported and skipped; the last good version stays', async (t) => {
  const h = await harness(t, await seeded());
  h.api.put('services', { metadata: { namespace: 'shop', name: 'web' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.10', ports: 'eighty' } });
  await until(t, () => h.errors.length === 1, 'the invalid object reported');
  const err = h.errors[0];
  t.is(err?.kind, 'invalid_object');
  t.is(err?.subject, 'services/shop/web');
  t.regex(err?.message ?? '', /last good version/);
  t.is(spec(h.latest(), 'shop/web')?.ports?.[0]?.port, 80);

  // An object without metadata would crash client-node's informer (an unhandled rejection): reported and dropped.
  // A line that is not JSON is dropped inside client-node, unseen. The stream goes on after both.
  h.api.sendEvent('services', 'ADDED', { kind: 'Service' });
  h.api.sendEvent('services', 'ERROR', null);
  h.api.sendRaw('services', '{this is not json');
  h.api.put('services', service('shop', 'web', '10.96.0.10', 8443));
  await until(t, () => spec(h.latest(), 'shop/web')?.ports?.[0]?.port === 8443, 'the next good version');
  t.is(h.errors.length, 3);
  t.regex(h.errors[1]?.message ?? '', /malformed ADDED event dropped: the object has no metadata.name/);
  t.regex(h.errors[2]?.message ?? '', /malformed ERROR event dropped/);
  t.true(h.source.errorCounts().some((c) => c.resource === 'services' && c.kind === 'invalid_object' && c.count === 3));
  t.is(h.source.stats().services.restarts, 0);
});

test('a new object that arrives invalid is skipped, and appears once a valid version comes', async (t) => {
  const h = await harness(t, await seeded());
  h.api.put('nodes', { metadata: { name: 'node-bad' }, status: { addresses: 'nope' } });
  await until(t, () => h.errors.length === 1, 'reported');
  t.regex(h.errors[0]?.message ?? '', /skipped/);
  t.false(h.latest().nodes.has('node-bad'));
  h.api.put('nodes', node('node-bad', '198.51.100.9'));
  await until(t, () => h.latest().nodes.has('node-bad'), 'the valid version');
});

test('a watch that goes silent past its deadline is aborted and restarted', async (t) => {
  const h = await harness(t, await seeded(), { watchTimeoutSeconds: 1, stallGraceMs: 300, headersTimeoutMs: 500 });
  h.api.silence(true);
  await until(t, () => h.errors.some((e) => e.kind === 'watch_stalled'), 'a stall noticed');
  h.api.silence(false);
  h.api.put('services', service('shop', 'awake', '10.96.0.16'));
  await until(t, () => h.latest().services.has('shop/awake'), 'changes flow again');
  t.is(h.errors.find((e) => e.kind === 'watch_stalled')?.code, 'ERR_K8S_WATCH_STALLED');
});

test('a server that ends every watch at once is not hammered: watch requests are spaced out', async (t) => {
  const h = await harness(t, await seeded(), { minWatchIntervalMs: 100 });
  h.api.flap(true);
  const first = h.api.requestCount('services', 'watch');
  const start = performance.now();
  h.api.endWatches('services');
  await until(t, () => h.api.requestCount('services', 'watch') >= first + 5, 'five more watch requests');
  const elapsed = performance.now() - start;
  const made = h.api.requestCount('services', 'watch') - first;
  t.true(made <= elapsed / 100 + 1, `${made} watch requests in ${Math.round(elapsed)} ms`);
  h.api.flap(false);
  h.api.put('services', service('shop', 'steady', '10.96.0.18'));
  await until(t, () => h.latest().services.has('shop/steady'), 'changes flow again');
});

test('bursts are coalesced: a relist of many objects goes out as one change', async (t) => {
  const h = await harness(t, await seeded(), { throttleMs: 100 });
  h.api.silence(true);
  for (let i = 0; i < 500; i++) h.api.put('services', service('bulk', `s${i}`, `10.97.${i >> 8}.${i & 255}`));
  h.api.compact();
  h.api.silence(false);
  const before = h.states.length;
  h.api.expireWatches('services');
  await until(t, () => h.latest().services.size === 501, 'all 500 services');
  t.is(h.states.length, before + 1);
  t.is(h.changes.at(-1)?.changed.services.size, 500);
});

test('stop() closes every connection and nothing is handed over afterwards', async (t) => {
  const h = await harness(t, await seeded());
  await until(t, () => h.api.watcherCount() === 3, 'three watches');
  await h.source.stop();
  await until(t, () => h.api.watcherCount() === 0, 'no watch left open');
  const requests = h.api.requests.length;
  h.api.put('services', service('shop', 'ignored', '10.96.0.17'));
  t.false(h.source.flush());
  // Restart timers are gone too: a server going away now causes no reconnect attempt.
  await h.api.goAway();
  await h.api.comeBack();
  t.is(h.api.requests.length, requests);
  t.false(h.latest().services.has('shop/ignored'));
});
