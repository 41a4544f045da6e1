/**
 * The TypeScript flow hash equals bpf/lib/hash.h's: these values were
 * printed by hash.h compiled for the host (x86-64) from the same tuples.
 */
import test from 'ava';
import { flowHash, geneveSourcePort } from '../../src/packet/index.js';

const vectors: readonly (readonly [string, string, number, number, number, number, number])[] = [
  ['198.51.100.100', '203.0.113.10', 40000, 80, 6, 0xc4535f6b, 0x534f2611],
  ['198.51.100.100', '203.0.113.10', 40001, 80, 6, 0xfcafad69, 0x534f2611],
  ['10.0.0.1', '10.0.0.2', 1, 2, 17, 0x2651975e, 0xd327cfec],
  ['0.0.0.0', '0.0.0.0', 0, 0, 0, 0x31b8a510, 0x31b8a510],
  ['255.255.255.255', '255.255.255.255', 65535, 65535, 255, 0x02a64c03, 0xf8edcea1],
];

test('flowHash reproduces the datapath hash, with and without the source port', (t) => {
  for (const [src, dst, sport, dport, proto, full, noSport] of vectors) {
    const tuple = { src, dst, sport, dport, proto };
    t.is(flowHash(tuple), full, `${src}:${sport} -> ${dst}:${dport}/${proto}`);
    t.is(flowHash(tuple, false), noSport);
  }
});

test('the Geneve source port lies in 49152-65535 and follows the hash', (t) => {
  const tuple = { src: '198.51.100.100', dst: '203.0.113.10', sport: 40000, dport: 80, proto: 6 };
  t.is(geneveSourcePort(tuple), 0xc000 | (0xc4535f6b & 0x3fff));
  t.true(geneveSourcePort(tuple) >= 49152);
});
