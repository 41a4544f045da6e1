import test from 'ava';
import { decodeIpv4, encodeIpv4, ipv4FromBytes, ipv4ToBytes, IpProtocol } from '../../src/packet/index.js';

test('an IPv4 header round-trips with its fields and a valid checksum', (t) => {
  const h = encodeIpv4({ src: '198.51.100.100', dst: '203.0.113.10', protocol: IpProtocol.TCP, tos: 0x10, id: 77, ttl: 9 }, 100);
  t.is(h.length, 20);
  const d = decodeIpv4(h);
  t.like(d, {
    version: 4, ihl: 5, headerLength: 20, tos: 0x10, totalLength: 120, id: 77, df: true, mf: false,
    fragmentOffset: 0, ttl: 9, protocol: 6, checksumValid: true, src: '198.51.100.100', dst: '203.0.113.10',
  });
});

test('options are padded to whole words and counted in IHL', (t) => {
  const h = encodeIpv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.UDP, options: Buffer.from([0x94, 0x04, 0, 0, 0x01]) }, 0);
  const d = decodeIpv4(h);
  t.is(d.ihl, 7);
  t.deepEqual([...d.options], [0x94, 0x04, 0, 0, 0x01, 0, 0, 0]);
  t.true(d.checksumValid);
});

test('fragment fields are encoded where RFC 791 puts them', (t) => {
  const h = encodeIpv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: IpProtocol.UDP, df: false, mf: true, fragmentOffset: 185 }, 8);
  t.is(h.readUInt16BE(6), 0x2000 | 185);
  t.like(decodeIpv4(h), { df: false, mf: true, fragmentOffset: 185 });
});

test('overrides build malformed headers on purpose', (t) => {
  const h = encodeIpv4({ src: '10.0.0.1', dst: '10.0.0.2', protocol: 6, ihl: 4, version: 6, totalLength: 3, checksum: 0xdead }, 0);
  t.is(h[0], 0x64);
  t.is(h.readUInt16BE(2), 3);
  t.is(h.readUInt16BE(10), 0xdead);
  t.throws(() => decodeIpv4(h), { message: /header length 16/ });
});

test('addresses convert both ways and bad ones are refused', (t) => {
  t.deepEqual([...ipv4ToBytes('203.0.113.7')], [203, 0, 113, 7]);
  t.is(ipv4FromBytes(Buffer.from([1, 2, 3, 4])), '1.2.3.4');
  t.throws(() => ipv4ToBytes('256.1.1.1'));
  t.throws(() => ipv4ToBytes('1.2.3'));
});
