/**
 * The reconciler's batch encoders write exactly the bytes the codecs do (the
 * codecs are held against the compiled object's BTF in test/bpf/codecs-btf).
 */
import test from 'ava';
import { lb4Backend, lb4Key, lb4Revnat, lb4Service } from '../../src/bpf/codecs/services.js';
import {
  encodeBackend, encodeLbKey, encodeRevnat, encodeService, LAYOUTS_MATCH,
} from '../../src/reconcile/maps/batch-writes.js';

let seed = 12345;
function rnd(max: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % (max + 1);
}
const ip = (): string => `${rnd(255)}.${rnd(255)}.${rnd(255)}.${rnd(255)}`;

function at(size: number, write: (b: Buffer, o: number) => void): Buffer {
  // Garbage around and under the entry: the encoder must write every byte it owns.
  const b = Buffer.alloc(size + 6, 0xa5);
  write(b, 3);
  return b.subarray(3, 3 + size);
}

test('the codec layouts are the ones the batch encoders assume', (t) => {
  t.true(LAYOUTS_MATCH);
});

test('backends, frontend keys, services and revnat entries encode byte for byte like their codecs', (t) => {
  for (let i = 0; i < 2000; i++) {
    const be = { address: ip(), port: rnd(65535), proto: rnd(255), flags: rnd(255), nodeId: rnd(0xffffffff), generation: rnd(0xffffffff) };
    t.deepEqual(at(16, (b, o) => encodeBackend(b, o, be)), lb4Backend.encode(be));
    const key = { address: ip(), port: rnd(65535), proto: rnd(255) };
    t.deepEqual(at(8, (b, o) => encodeLbKey(b, o, key)), lb4Key.encode(key));
    const svc = { serviceId: rnd(0xffffffff), affinityTimeout: rnd(86400), backendCount: rnd(65535), revnatId: rnd(65535), flags: rnd(255), kind: rnd(255), internalRevnat: rnd(65535), maglevSize: rnd(1_000_003) };
    t.deepEqual(at(20, (b, o) => encodeService(b, o, svc)), lb4Service.encode(svc));
    const rev = { address: ip(), port: rnd(65535) };
    t.deepEqual(at(8, (b, o) => encodeRevnat(b, o, rev)), lb4Revnat.encode(rev));
  }
});

test('an address that is not a dotted quad is refused, like the codec refuses it', (t) => {
  for (const bad of ['10.0.0', '10.0.0.256', '10.0.0.1.2', '10..0.1', 'a.b.c.d', '1000.0.0.1', '']) {
    t.throws(() => encodeLbKey(Buffer.alloc(8), 0, { address: bad, port: 1, proto: 6 }), { instanceOf: RangeError }, bad);
    t.throws(() => lb4Key.encode({ address: bad, port: 1, proto: 6 }), { instanceOf: RangeError }, bad);
  }
});
