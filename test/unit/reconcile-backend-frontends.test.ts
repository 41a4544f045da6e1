/**
 * lb4_backend_frontends without root (src/reconcile/backend-frontends.ts):
 * every local backend, with its frontend when it has exactly one and the
 * fallback is on; kept through incremental updates, across services, and
 * converged after an adoption.
 */
import test from 'ava';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import type { Frontend } from '../../src/plan/types.js';
import { be, fe, input } from '../fixtures/reconcile-plans.js';

const A = be('198.18.1.10', 'node-a');
const B = be('198.18.1.11', 'node-a');
const REMOTE = be('198.18.2.10', 'node-b');

function view(mem: MemoryMaps): string[] {
  return mem.backendFrontends.entries().map(([k, f]) => `${k.address}:${k.port}/${k.proto} -> ${f.address}:${f.port}`).sort();
}

const one: Frontend[] = [fe({ service: 'default/one', kind: 'LoadBalancer', address: '203.0.113.10', backends: [A, REMOTE] })];
const twoOfOne: Frontend[] = [
  fe({ service: 'default/two', address: '10.96.0.20', backends: [B] }),
  fe({ service: 'default/two', kind: 'LoadBalancer', address: '203.0.113.20', backends: [B] }),
];

test('a local backend of one frontend gets it; of two, none; remote backends are not listed', (t) => {
  const mem = new MemoryMaps();
  new Reconciler(mem, { revnatFallback: true }).sync(input([...one, ...twoOfOne]));
  t.deepEqual(view(mem), ['198.18.1.10:8080/6 -> 203.0.113.10:80', '198.18.1.11:8080/6 -> 0.0.0.0:0']);
});

test('with the fallback off every local backend is listed without a frontend (misses are still counted)', (t) => {
  const mem = new MemoryMaps();
  new Reconciler(mem).sync(input([...one, ...twoOfOne]));
  t.deepEqual(view(mem), ['198.18.1.10:8080/6 -> 0.0.0.0:0', '198.18.1.11:8080/6 -> 0.0.0.0:0']);
});

test('a backend shared by two services has no single frontend; it gets one back when the other service goes', (t) => {
  const mem = new MemoryMaps();
  const r = new Reconciler(mem, { revnatFallback: true });
  const other = fe({ service: 'default/other', kind: 'LoadBalancer', address: '203.0.113.30', backends: [A] });
  r.sync(input([...one, other]));
  t.deepEqual(view(mem), ['198.18.1.10:8080/6 -> 0.0.0.0:0']);
  r.updateServices(new Map([['default/other', []]]));
  t.deepEqual(view(mem), ['198.18.1.10:8080/6 -> 203.0.113.10:80']);
  r.updateServices(new Map([['default/one', []]]));
  t.deepEqual(view(mem), []);
});

test('adopted entries nobody wants go at the first sync, a wrong one is corrected, and the next sync writes nothing', (t) => {
  const mem = new MemoryMaps();
  mem.backendFrontends.update({ address: '198.18.9.9', port: 80, proto: 6 }, { address: '203.0.113.99', port: 80 });
  mem.backendFrontends.update({ address: '198.18.1.10', port: 8080, proto: 6 }, { address: '203.0.113.99', port: 80 });
  const r = new Reconciler(mem, { revnatFallback: true });
  r.sync(input(one));
  t.deepEqual(view(mem), ['198.18.1.10:8080/6 -> 203.0.113.10:80']);
  t.deepEqual(r.sync(input(one)).backendFrontends, { written: 0, deleted: 0 });
});
