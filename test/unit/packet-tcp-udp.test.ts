import test from 'ava';
import {
  decodeTcp, decodeUdp, encodeTcp, encodeUdp, mssOption, tcpChecksumValid, udpChecksumState,
} from '../../src/packet/index.js';

const src = '198.51.100.100';
const dst = '203.0.113.10';

test('a TCP SYN with an MSS option round-trips and its checksum verifies', (t) => {
  const seg = encodeTcp({ sport: 40000, dport: 80, seq: 0xfffffff0, flags: { syn: true }, options: mssOption(1460) }, src, dst);
  t.is(seg.length, 24);
  t.true(tcpChecksumValid(seg, src, dst));
  const d = decodeTcp(seg, 0, seg.length);
  t.like(d, { sport: 40000, dport: 80, seq: 0xfffffff0, dataOffset: 6, headerLength: 24, mss: 1460, window: 65535 });
  t.true(d.flags.syn);
  t.false(d.flags.ack);
});

test('the TCP checksum covers the pseudo-header: another destination fails it', (t) => {
  const seg = encodeTcp({ sport: 1, dport: 2, flags: { ack: true }, payload: Buffer.from('hello') }, src, dst);
  t.true(tcpChecksumValid(seg, src, dst));
  t.false(tcpChecksumValid(seg, src, '203.0.113.11'));
});

test('the MSS is found behind NOPs and other options', (t) => {
  const options = Buffer.from([1, 1, 4, 2, ...mssOption(1400)]);
  const seg = encodeTcp({ sport: 1, dport: 2, flags: { syn: true, ack: true }, options }, src, dst);
  t.is(decodeTcp(seg, 0, seg.length).mss, 1400);
});

test('a TCP header with a data offset beyond the segment is refused', (t) => {
  const seg = encodeTcp({ sport: 1, dport: 2, dataOffset: 15 }, src, dst);
  t.throws(() => decodeTcp(seg, 0, seg.length), { message: /data offset 15/ });
});

test('a UDP datagram round-trips; a zero checksum means none and a computed zero is sent as ffff', (t) => {
  const dg = encodeUdp({ sport: 53, dport: 5353, payload: Buffer.from('abc') }, src, dst);
  t.is(udpChecksumState(dg, src, dst), 'valid');
  t.like(decodeUdp(dg, 0, dg.length), { sport: 53, dport: 5353, length: 11 });
  const none = encodeUdp({ sport: 53, dport: 5353, checksum: 'none' }, src, dst);
  t.is(udpChecksumState(none, src, dst), 'none');
  // Search for a payload whose checksum computes to zero: it must go out as 0xffff.
  for (let i = 0; i < 65536; i++) {
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(i);
    const d = encodeUdp({ sport: 1, dport: 2, payload }, src, dst);
    if (d.readUInt16BE(6) === 0xffff) {
      t.is(udpChecksumState(d, src, dst), 'valid');
      return;
    }
  }
  t.fail('no payload gives a zero checksum');
});

test('a UDP length field longer than the datagram is refused', (t) => {
  const dg = encodeUdp({ sport: 1, dport: 2, length: 99 }, src, dst);
  t.throws(() => decodeUdp(dg, 0, dg.length), { message: /UDP length 99/ });
});
