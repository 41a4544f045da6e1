/** The test API server itself speaks the wire protocol the real one does. */
import test from 'ava';
import { FakeApiServer } from './fake-apiserver.js';
import { node, service } from './helpers.js';

interface WatchEvent { type: string; object: { kind?: string; code?: number; metadata?: { name?: string; resourceVersion?: string } } }

/** Reads newline-delimited events from a watch until `count` arrived or the stream ends. */
async function readEvents(res: Response, count: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  const reader = res.body?.getReader();
  if (!reader) return out;
  const decoder = new TextDecoder();
  let buf = '';
  while (out.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buf.slice(0, nl)) as WatchEvent);
      buf = buf.slice(nl + 1);
    }
  }
  await reader.cancel();
  return out;
}

test('lists: typed list kind, resourceVersion, items without kind; namespaced and cluster-wide paths', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.put('services', service('a', 'one', '10.96.0.1'));
  api.put('services', service('b', 'two', '10.96.0.2'));
  api.put('nodes', node('n1', '198.51.100.1'));

  const all = (await (await fetch(`${api.url}/api/v1/services`)).json()) as { kind: string; metadata: { resourceVersion: string }; items: { kind?: string }[] };
  t.is(all.kind, 'ServiceList');
  t.is(all.metadata.resourceVersion, api.resourceVersion);
  t.is(all.items.length, 2);
  t.is(all.items[0]?.kind, undefined);
  const inA = (await (await fetch(`${api.url}/api/v1/namespaces/a/services`)).json()) as { items: unknown[] };
  t.is(inA.items.length, 1);
  t.is((await fetch(`${api.url}/api/v1/namespaces/a/nodes`)).status, 404, 'nodes are cluster-scoped');
  t.is((await fetch(`${api.url}/apis/discovery.k8s.io/v1/endpointslices`)).status, 200);
});

test('watch: synthetic ADDED without resourceVersion, replay from one, bookmarks only when asked, 410 when compacted', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.put('services', service('a', 'one', '10.96.0.1'));
  const rv = api.resourceVersion;
  api.put('services', service('a', 'two', '10.96.0.2'));

  const fresh = await readEvents(await fetch(`${api.url}/api/v1/services?watch=true`), 2);
  t.deepEqual(fresh.map((e) => [e.type, e.object.metadata?.name]), [['ADDED', 'one'], ['ADDED', 'two']]);
  t.is(fresh[0]?.object.kind, 'Service');

  // fetch resolves on the response headers, sent once the watch is registered.
  const res = await fetch(`${api.url}/api/v1/services?watch=true&allowWatchBookmarks=true&resourceVersion=${rv}`);
  const events = readEvents(res, 3);
  api.remove('services', 'a', 'one');
  api.bookmark();
  t.deepEqual((await events).map((e) => e.type), ['ADDED', 'DELETED', 'BOOKMARK']);

  api.compact();
  const gone = await readEvents(await fetch(`${api.url}/api/v1/services?watch=true&resourceVersion=${rv}`), 1);
  t.is(gone[0]?.type, 'ERROR');
  t.is(gone[0]?.object.code, 410);
});

test('faults: an injected 500, then normal service; gone and back on the same port', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  api.failNext({ resource: 'nodes', verb: 'list' });
  t.is((await fetch(`${api.url}/api/v1/nodes`)).status, 500);
  t.is((await fetch(`${api.url}/api/v1/nodes`)).status, 200);
  const url = api.url;
  await api.goAway();
  await t.throwsAsync(fetch(`${url}/api/v1/nodes`));
  await api.comeBack();
  t.is(api.url, url);
  t.is((await fetch(`${url}/api/v1/nodes`)).status, 200);
});

interface Page { metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number }; items: { metadata: { name: string } }[] }

test('paged lists: limit and continue, key order, one snapshot for every page, 410 Expired once compacted past it', async (t) => {
  const api = await FakeApiServer.start();
  t.teardown(() => api.close());
  for (const name of ['e', 'c', 'a', 'd', 'b']) api.put('services', service('shop', name, '10.96.0.1'));
  const rv = api.resourceVersion;
  const page = async (query: string): Promise<Page> => (await (await fetch(`${api.url}/api/v1/services?${query}`)).json()) as Page;

  const first = await page('limit=2');
  t.deepEqual(first.items.map((i) => i.metadata.name), ['a', 'b']);
  t.is(first.metadata.remainingItemCount, 3);
  api.put('services', service('shop', 'aa', '10.96.0.2')); // after the snapshot: not in this list
  const second = await page(`limit=2&continue=${first.metadata.continue ?? ''}`);
  t.deepEqual(second.items.map((i) => i.metadata.name), ['c', 'd']);
  const last = await page(`limit=2&continue=${second.metadata.continue ?? ''}`);
  t.deepEqual(last.items.map((i) => i.metadata.name), ['e']);
  t.is(last.metadata.continue, undefined, 'no continue on the last page');
  t.deepEqual([first, second, last].map((p) => p.metadata.resourceVersion), [rv, rv, rv]);

  const again = await page('limit=3');
  t.deepEqual(again.items.map((i) => i.metadata.name), ['a', 'aa', 'b']);
  api.compact(); // at the snapshot's revision: still served
  const next = await page(`limit=3&continue=${again.metadata.continue ?? ''}`);
  t.is(next.items.length, 3);

  const third = await page('limit=1');
  api.put('services', service('shop', 'f', '10.96.0.3'));
  api.compact();
  const res = await fetch(`${api.url}/api/v1/services?limit=1&continue=${third.metadata.continue ?? ''}`);
  t.is(res.status, 410);
  t.like(await res.json(), { kind: 'Status', code: 410, reason: 'Expired' });
  t.is((await fetch(`${api.url}/api/v1/services?limit=1&continue=bogus`)).status, 400);
});
