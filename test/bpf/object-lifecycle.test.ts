/**
 * Objects load, pin their maps under a root, and a second load adopts the
 * pinned maps with their contents (how a restarted agent keeps live state).
 */
import test from 'ava';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfError, BpfObjectFile, BpfObjects, MapType, UpdateFlags,
} from '../../src/bpf/index.js';
import { MapSpecs, mapOf, openPinned } from '../../src/bpf/map-specs.js';
import { DsrlbError } from '../../src/errors.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const frontend = { address: '203.0.113.10', port: 80, proto: 6 };
const service = { serviceId: 7, affinityTimeout: 0, backendCount: 0, revnatId: 7, flags: 0, kind: 0, internalRevnat: 0, maglevSize: 0 };

function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

test('loading pins every map by name under the pin root', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  for (const name of ['lb4_services', 'lb4_backends', 'lb4_revnat', 'nodes', 'config', 'stats']) {
    t.true(existsSync(join(root, name)), `${name} pinned`);
  }
  t.true(obj.programNames().includes('xdp_lb'));
});

test('a second load reuses the pinned maps and sees what the first wrote', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const first = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  mapOf(first, MapSpecs.services).update(frontend, service);
  first.close();

  const second = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => second.close());
  t.deepEqual(mapOf(second, MapSpecs.services).lookup(frontend), service);

  const reader = openPinned(root, MapSpecs.services);
  t.teardown(() => reader.close());
  t.deepEqual(reader.entries(), [[frontend, service]]);
  t.is(reader.info().typeName, 'hash');
});

test('map operations: update flags, delete, iterate, batch, per-CPU values, info', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const services = mapOf(obj, MapSpecs.services);

  services.update(frontend, service, UpdateFlags.NOEXIST);
  const err = t.throws(() => services.update(frontend, service, UpdateFlags.NOEXIST), { instanceOf: BpfError });
  t.is(err?.code, 'ERR_BPF_EEXIST');
  t.is(err?.subject, 'lb4_services');

  const many = Array.from({ length: 5000 }, (_, i) => [
    { address: `203.0.${113 + (i >> 8)}.${i & 255}`, port: 443, proto: 17 },
    { ...service, serviceId: 1000 + i },
  ] as const);
  services.updateBatch(many);
  t.is(services.entries().length, 5001);
  t.is([...services.keys()].length, 5001);
  t.is(services.deleteBatch([...many.slice(0, 10).map(([k]) => k), { address: '192.0.2.1', port: 1, proto: 6 }]), 10);
  t.true(services.delete(frontend));
  t.false(services.delete(frontend));
  t.is(services.lookup(frontend), undefined);
  t.is(services.entries().length, 4990);

  const stats = mapOf(obj, MapSpecs.stats);
  t.true(stats.perCpu);
  const perCpu = stats.lookupPerCpu(0);
  t.truthy(perCpu);
  t.true((perCpu ?? []).every((v) => v === 0n));

  const info = services.info();
  t.is(info.type, MapType.HASH);
  t.is(info.keySize, 8);
  t.true(info.memoryBytes > 0);
});

test('opening a map that is not pinned says which root and what to check', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const err = t.throws(() => openPinned(root, MapSpecs.services), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_NOT_PINNED');
  t.regex(err?.toLine() ?? '', /lb4_services.*--bpffs-root/);
});

test('opening a missing object names the file and says to build it', (t) => {
  const err = t.throws(() => BpfObjectFile.load('/nonexistent/x.o'), { instanceOf: BpfError });
  t.is(err?.errno, 2);
  t.regex(err?.toLine() ?? '', /\/nonexistent\/x\.o.*make bpf/);
});

test('a codec that does not match the map is refused', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  t.throws(() => obj.map('lb4_services', MapSpecs.backends.key, MapSpecs.services.value), { message: /codec sizes/ });
});

test.serial('1,000 open/load/close cycles leak no file descriptors', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  // Warm up once so fds opened lazily and kept (libbpf's, node's) are not counted.
  BpfObjectFile.load(BpfObjects.xdpPass).close();
  BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root }).close();
  const before = openFdCount();
  for (let i = 0; i < 1000; i++) {
    BpfObjectFile.load(BpfObjects.xdpPass).close();
    openPinned(root, MapSpecs.services).close();
  }
  // The full program with pinned maps, fewer times: each load runs the verifier.
  for (let i = 0; i < 20; i++) BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root }).close();
  t.is(openFdCount(), before);
});

test('a map pinned with another definition is refused with a remedy, not silently replaced', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  // Another build: the same map with another size.
  BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root, maxEntries: { lb4_backends: 1024 } }).close();
  const err = t.throws(() => BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root }), { instanceOf: BpfError });
  t.is(err?.code, 'ERR_BPF_PIN_MISMATCH');
  t.is(err?.subject, join(root, 'lb4_backends'));
  t.regex(err?.toLine() ?? '', /dsrlb-agent cleanup/);
});
