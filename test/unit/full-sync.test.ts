/**
 * "The next sync is full" has one owner (src/model/full-sync.ts): the plan
 * cache, the reconciler and the pipeline ask it, any failure, restart or
 * topology change sets it, and only a whole pass clears it.
 */
import test from 'ava';
import { FullSync } from '../../src/model/full-sync.js';
import { PlanCache } from '../../src/plan/incremental.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { Reconciler } from '../../src/reconcile/reconciler.js';
import { NODE_A, node, slice, state, svc } from '../fixtures/plan-builders.js';
import { input, pods, twoServices } from '../fixtures/reconcile-plans.js';

test('set from the start; only reading the maps back for a failed write or a resync', (t) => {
  const f = new FullSync();
  t.true(f.needed);
  t.deepEqual(f.reasons(), ['start']);
  t.false(f.rereadMaps);
  f.done();
  t.false(f.needed);
  f.request('topology');
  t.true(f.needed);
  t.false(f.rereadMaps);
  f.request('write-failure');
  t.true(f.rereadMaps);
  f.done();
  f.request('resync');
  t.true(f.rereadMaps);
});

test('a plan cache sharing it plans everything while it is set and leaves clearing it to the owner', (t) => {
  const f = new FullSync();
  const cache = new PlanCache(NODE_A, {}, { fullSync: f });
  const world = state({
    services: [svc('web', { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] })],
    slices: [slice('web-1', { service: 'web', endpoints: [{ ip: '198.18.1.5', node: 'node-a' }] })],
    nodes: [node('node-a', ['198.51.100.1'])],
  });
  const none = {};
  t.true(cache.update(world, none).full);
  t.true(f.needed, 'the cache does not own it');
  t.true(cache.update(world, none).full, 'still set: planned whole again');
  f.done();
  t.false(cache.update(world, none).full);
  f.request('topology');
  t.true(cache.update(world, none).full);
});

test('a reconciler sharing it requests a full sync that reads the maps back when a write fails, and does not clear it', (t) => {
  const f = new FullSync();
  const mem = new MemoryMaps();
  const maps = new FailingMaps(mem);
  const r = new Reconciler(maps, { fullSync: f });
  r.sync(input(twoServices(pods(2))));
  t.deepEqual(f.reasons(), ['start'], 'the owner clears it');
  f.done();
  maps.failAt = maps.calls + 1;
  t.throws(() => r.sync(input(twoServices(pods(4)))));
  t.true(f.has('write-failure'));
  r.sync(input(twoServices(pods(4))));
  t.true(f.needed, 'still the owner to clear');
});
