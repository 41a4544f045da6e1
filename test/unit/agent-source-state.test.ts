/** What /healthz says about the source, from its errors and status, on a clock the test moves. */
import test from 'ava';
import { SourceState } from '../../src/agent/source-state.js';
import { SourceError, type SourceStatus } from '../../src/k8s/source.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function harness(kind: 'kubernetes' | 'manifests' = 'kubernetes'): { state: SourceState; set: (s: SourceStatus) => void; at: (ms: number) => void } {
  let status: SourceStatus = { synced: false, failing: [] };
  let now = T0;
  const state = new SourceState(kind, 'Kubernetes API http://192.0.2.1:6443 (api-server)', () => status, () => now);
  return { state, set: (s) => { status = s; }, at: (ms) => { now = T0 + ms; } };
}

const refused = new SourceError('services', 'list', 'ERR_K8S_LIST', 'list failed: connect ECONNREFUSED 192.0.2.1:6443');

test('connecting, then retrying since the first error with the error, then connected with the last complete read; the last error stays as history', (t) => {
  const { state, set, at } = harness();
  t.like(state.report(), { state: 'connecting', retryingSince: null, lastError: null, lastCompleteReadAt: null });
  at(1000);
  state.onError(refused);
  set({ synced: false, failing: ['services', 'endpointSlices', 'nodes'] });
  at(5000);
  state.onError(refused);
  t.like(state.report(), { state: 'retrying', retryingSince: '2026-01-01T00:00:01.000Z', failing: ['services', 'endpointSlices', 'nodes'], lastErrorAt: '2026-01-01T00:00:05.000Z' });
  t.regex(state.report().lastError ?? '', /ECONNREFUSED/);
  t.false(state.connected());
  set({ synced: true, failing: [], lastCompleteReadAt: T0 + 9000 });
  t.like(state.report(), { state: 'connected', retryingSince: null, lastCompleteReadAt: '2026-01-01T00:00:09.000Z', lastErrorAt: '2026-01-01T00:00:05.000Z' });
  t.true(state.connected());
  // A later failure starts its own "since", even if nobody asked in between.
  at(60_000);
  state.onError(refused);
  set({ synced: true, failing: ['services'] });
  t.like(state.report(), { state: 'retrying', retryingSince: '2026-01-01T00:01:00.000Z' });
});

test('a manifests directory is watching when read; an invalid object alone does not make it retrying', (t) => {
  const { state, set } = harness('manifests');
  set({ synced: true, failing: [], lastCompleteReadAt: T0 });
  state.onError(new SourceError('services', 'invalid_object', 'ERR_K8S_INVALID_OBJECT', 'bad port; skipped'));
  t.like(state.report(), { kind: 'manifests', state: 'watching', retryingSince: null, lastError: 'bad port; skipped' });
});
