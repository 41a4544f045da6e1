/** What every source shares: the synced gate, the throttled hand-over, backoff. */
import test from 'ava';
import type { V1Service } from '@kubernetes/client-node';
import { Backoff } from '../../src/k8s/backoff.js';
import type { SourceError, StateChange } from '../../src/k8s/source.js';
import { StoreSource } from '../../src/k8s/store-source.js';
import { until } from './helpers.js';

/** A source driven by the test. */
class ScriptedSource extends StoreSource {
  ended = false;
  put(name: string, port = 80): void {
    const svc: V1Service = { metadata: { namespace: 'ns', name }, spec: { ports: [{ port }] } };
    this.store.set('services', `ns/${name}`, svc);
    this.changed();
  }
  sync(): void {
    this.markSynced();
  }
  protected begin(): void {}
  protected async end(): Promise<void> {
    this.ended = true;
  }
  protected failing(): readonly string[] {
    return [];
  }
}

function record(source: ScriptedSource): { changes: StateChange[]; sizes: number[] } {
  const out = { changes: [] as StateChange[], sizes: [] as number[] };
  source.start((state, change) => {
    out.changes.push(change);
    out.sizes.push(state.services.size);
  });
  return out;
}

test('nothing goes out before the source is synced; then everything at once, as "initial"', async (t) => {
  const s = new ScriptedSource({ throttleMs: 0 });
  t.teardown(() => s.stop());
  const r = record(s);
  s.put('a');
  s.put('b');
  await t.throwsAsync(s.whenSynced(50), { message: /not synced after 50 ms/ });
  t.is(r.changes.length, 0);
  s.sync();
  await s.whenSynced(5000);
  t.is(r.changes.length, 1);
  t.is(r.changes[0]?.reason, 'initial');
  t.deepEqual([...(r.changes[0]?.changed.services ?? [])].sort(), ['ns/a', 'ns/b']);
});

test('a single change after a quiet period goes out on the next turn of the event loop, not after the interval', async (t) => {
  const s = new ScriptedSource({ throttleMs: 100 });
  t.teardown(() => s.stop());
  const r = record(s);
  s.sync();
  await s.whenSynced(5000);
  const quietFrom = performance.now();
  await until(t, () => performance.now() - quietFrom > 150, 'a quiet period longer than the interval');
  s.put('a');
  await new Promise((resolve) => setImmediate(resolve));
  t.is(r.changes.length, 2);
  t.deepEqual([...(r.changes[1]?.changed.services ?? [])], ['ns/a']);
});

test('a burst is coalesced into one hand-over per interval, with every key', async (t) => {
  const s = new ScriptedSource({ throttleMs: 200 });
  t.teardown(() => s.stop());
  const r = record(s);
  s.sync();
  await s.whenSynced(5000);
  for (let i = 0; i < 50; i++) s.put(`s${i}`);
  await until(t, () => r.changes.length === 2, 'one hand-over for the burst');
  t.is(r.changes[1]?.changed.services.size, 50);
  t.is(r.sizes[1], 50);
});

test('flush() hands pending changes over synchronously; `since` is when the first of them arrived', async (t) => {
  const s = new ScriptedSource({ throttleMs: 60_000 });
  t.teardown(() => s.stop());
  const r = record(s);
  s.sync();
  await s.whenSynced(5000);
  const before = performance.now();
  s.put('a');
  s.put('b');
  t.true(s.flush());
  t.is(r.changes.length, 2);
  t.true((r.changes[1]?.since ?? 0) >= before);
  t.false(s.flush(), 'nothing pending');
});

test('an async handler is never re-entered; what changes meanwhile goes out together afterwards', async (t) => {
  const s = new ScriptedSource({ throttleMs: 0 });
  t.teardown(() => s.stop());
  let release: () => void = () => undefined;
  let running = 0;
  let overlapped = false;
  const changes: StateChange[] = [];
  s.start(async (_state, change) => {
    changes.push(change);
    running++;
    overlapped ||= running > 1;
    if (changes.length === 2) await new Promise<void>((resolve) => { release = resolve; });
    running--;
  });
  s.sync();
  await s.whenSynced(5000);
  s.put('a');
  await until(t, () => changes.length === 2, 'the slow hand-over started');
  s.put('b');
  s.put('c');
  await new Promise((r) => setImmediate(r));
  t.is(changes.length, 2, 'held back while the handler runs');
  release();
  await until(t, () => changes.length === 3, 'the held-back changes');
  t.deepEqual([...(changes[2]?.changed.services ?? [])].sort(), ['ns/b', 'ns/c']);
  t.false(overlapped);
});

test('a handler that throws is reported and the source carries on', async (t) => {
  const s = new ScriptedSource({ throttleMs: 0 });
  t.teardown(() => s.stop());
  const errors: SourceError[] = [];
  s.onError((e) => errors.push(e));
  let calls = 0;
  s.start(() => {
    calls++;
    if (calls === 2) throw new Error('boom');
  });
  s.sync();
  await s.whenSynced(5000);
  s.put('a');
  await until(t, () => errors.length === 1, 'the error');
  t.is(errors[0]?.kind, 'handler');
  t.is(errors[0]?.code, 'ERR_SOURCE_HANDLER');
  s.put('b');
  await until(t, () => calls === 3, 'the next hand-over');
  t.deepEqual(s.errorCounts(), [{ resource: 'consumer', kind: 'handler', count: 1 }]);
});

test('stop() ends the source and rejects waiters', async (t) => {
  const s = new ScriptedSource({ throttleMs: 0 });
  record(s);
  const waiting = s.whenSynced();
  await s.stop();
  await t.throwsAsync(waiting, { message: /stopped/ });
  t.true(s.ended);
  t.throws(() => s.start(() => undefined), { message: /starts once/ });
});

test('backoff doubles up to the cap, jitter only shortens, health resets it', (t) => {
  const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
  t.deepEqual([1, 2, 3, 4, 5, 6].map(() => b.next(0)), [100, 200, 400, 800, 1000, 1000]);
  b.reset();
  t.is(b.next(0), 100);
  // A failure long after the previous one starts over.
  t.is(b.next(200_000), 100);

  const jittered = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 1);
  t.is(jittered.next(0), 500);
  const none = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0);
  t.is(none.next(0), 1000);
});
