/**
 * The Kubernetes source lists in pages (limit + continue), as client-go's
 * reflector does: the whole list arrives, the watch resumes from the list's
 * resourceVersion, an expired continue token starts the list over once, and
 * a list that fails halfway changes nothing.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { OwnedKubeConfig } from '../../src/k8s/connections.js';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.js';
import { listObjects } from '../../src/k8s/list.js';
import type { SourceError } from '../../src/k8s/source.js';
import type { RequestRecord } from './fake-apiserver.js';
import { service, until } from './helpers.js';
import { harness, seeded, type Harness } from './source-harness.js';

const PAGE = 2;

/** The seeded server plus four Services in namespace bulk: five Services, three pages. */
async function bulky(): ReturnType<typeof seeded> {
  const api = await seeded();
  for (let i = 0; i < 4; i++) api.put('services', service('bulk', `s${i}`, `10.97.0.${i + 1}`));
  return api;
}

function serviceRequests(requests: readonly RequestRecord[], verb: 'list' | 'watch'): RequestRecord[] {
  return requests.filter((r) => r.resource === 'services' && r.verb === verb);
}

/** The resourceVersion the first Services watch asked for (the watch opens just after the list is applied). */
async function firstWatchFrom(t: ExecutionContext, h: Harness): Promise<string | undefined> {
  await until(t, () => h.api.watcherCount('services') === 1, 'the Services watch open');
  return serviceRequests(h.api.requests, 'watch')[0]?.query.resourceVersion;
}

/** Each list request: the first page of a list, or a later one (it carries a continue token). */
function pages(requests: readonly RequestRecord[]): string[] {
  return serviceRequests(requests, 'list').map((r) => (r.query.continue === undefined ? 'first' : 'next'));
}

test('a list longer than a page arrives whole, and the watch resumes from the list\'s resourceVersion', async (t) => {
  const api = await bulky();
  const listRv = api.resourceVersion;
  // Created while the source is between pages: not in the list's snapshot, so it can only come by the watch.
  let created = false;
  api.beforeList = (r) => {
    if (r.resource !== 'services' || r.query.continue === undefined || created) return;
    created = true;
    api.put('services', service('shop', 'meanwhile', '10.96.0.40'));
  };
  const h = await harness(t, api, { listPageSize: PAGE });

  t.deepEqual(pages(h.api.requests), ['first', 'next', 'next']);
  t.true(serviceRequests(h.api.requests, 'list').every((r) => r.query.limit === String(PAGE)));
  t.deepEqual([...h.states[0]?.services.keys() ?? []].filter((k) => k !== 'shop/meanwhile').sort(),
    ['bulk/s0', 'bulk/s1', 'bulk/s2', 'bulk/s3', 'shop/web']);
  t.is(await firstWatchFrom(t, h), listRv);
  await until(t, () => h.latest().services.has('shop/meanwhile'), 'the Service created mid-list, by the watch');
  t.is(h.source.stats().services.lists, 1);
  t.deepEqual(h.errors, []);
});

test('a continue token that expires mid-list: the list starts over from the first page and ends complete', async (t) => {
  const api = await bulky();
  let expired = false;
  api.beforeList = (r) => {
    if (r.resource !== 'services' || r.query.continue === undefined || expired) return;
    expired = true;
    // The cluster moves on and etcd compacts while the source is between pages.
    api.remove('services', 'bulk', 's0');
    api.put('services', service('bulk', 's9', '10.97.0.9'));
    api.compact();
  };
  const h = await harness(t, api, { listPageSize: PAGE });

  t.deepEqual(pages(h.api.requests), ['first', 'next', 'first', 'next', 'next']);
  t.deepEqual([...h.states[0]?.services.keys() ?? []].sort(), ['bulk/s1', 'bulk/s2', 'bulk/s3', 'bulk/s9', 'shop/web']);
  // The watch resumes from the snapshot of the pass that completed.
  t.is(await firstWatchFrom(t, h), api.resourceVersion);
  t.is(h.source.stats().services.lists, 1);
  t.deepEqual(h.errors, [], 'starting over is not an error');
});

test('a continue token that expires again on the second pass fails the list, which is retried', async (t) => {
  const api = await bulky();
  let expiries = 0;
  api.beforeList = (r) => {
    if (r.resource !== 'services' || r.query.continue === undefined || expiries === 2) return;
    expiries++;
    api.put('services', service('bulk', `late${expiries}`, `10.97.1.${expiries}`));
    api.compact();
  };
  const h = await harness(t, api, { listPageSize: PAGE });

  t.deepEqual(pages(h.api.requests).slice(0, 4), ['first', 'next', 'first', 'next']);
  const err = h.errors[0];
  t.is(err?.kind, 'list');
  t.is(err?.code, 'ERR_K8S_LIST');
  t.is(err?.context.statusCode, 410);
  t.regex(err?.remedy ?? '', /snapshot/);
  t.is(h.errors.length, 1);
  t.true(h.states[0]?.services.has('bulk/late2'), 'the retried list is complete');
  t.is(h.states[0]?.services.size, 7);
});

test('a relist that fails halfway keeps the last good state; the retried one removes what is gone', async (t) => {
  const h = await harness(t, await bulky(), { listPageSize: PAGE });
  await until(t, () => h.api.watcherCount('services') === 1, 'the Services watch open');
  const handedOver = h.states.length;
  h.api.silence(true); // the source misses the deletion
  h.api.remove('services', 'bulk', 's0');
  h.api.compact();
  h.api.silence(false);
  h.api.failNext({ resource: 'services', verb: 'list', continued: true, status: 500 });
  t.is(h.api.expireWatches('services'), 1);

  await until(t, () => !h.latest().services.has('bulk/s0'), 'the retried relist');
  const err = h.errors[0];
  t.is(err?.kind, 'list');
  t.is(err?.context.statusCode, 500);
  t.is(err?.context.page, 1);
  // Until a list completed nothing went: every state handed over in between has every Service.
  for (const s of h.states.slice(handedOver, -1)) t.is(s.services.size, 5);
  t.deepEqual([...h.latest().services.keys()].sort(), ['bulk/s1', 'bulk/s2', 'bulk/s3', 'shop/web']);
  t.is(h.source.stats().services.lists, 2);
});

test('an item without a name is skipped and reported with its index in the whole list', async (t) => {
  // A server the fake cannot be: it serves an object with no name (on the second page).
  const answers: Record<string, object> = {
    '': { kind: 'ServiceList', metadata: { resourceVersion: '7', continue: 'p2' }, items: [{ metadata: { name: 'a' } }, { metadata: { name: 'b' } }] },
    p2: { kind: 'ServiceList', metadata: { resourceVersion: '7' }, items: [{ metadata: {} }, { metadata: { name: 'c' } }] },
  };
  const server = createServer((req, res) => res.end(JSON.stringify(answers[new URL(req.url ?? '/', 'http://x').searchParams.get('continue') ?? ''])));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { kubeConfig } = loadKubeConfig({ apiServer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, env: {} });
  const kc = new OwnedKubeConfig(kubeConfig, { headersTimeoutMs: 3000, minWatchIntervalMs: 0 });
  t.teardown(() => kc.close());

  const reported: SourceError[] = [];
  const list = await listObjects(kc, 'services', '/api/v1/services', { pageSize: 2, onUnkeyable: (e) => reported.push(e) });
  t.deepEqual(list.items.map((i) => i.metadata.name), ['a', 'b', 'c']);
  t.is(list.metadata?.resourceVersion, '7');
  t.is(reported.length, 1);
  t.is(reported[0]?.code, 'ERR_K8S_INVALID_OBJECT');
  t.like(reported[0]?.context, { index: 2, page: 1 });
});
