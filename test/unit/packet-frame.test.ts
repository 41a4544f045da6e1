import test from 'ava';
import {
  buildFrame, buildGeneveFrame, decodeFrame, dsrOption, frameProblems, IcmpType, IcmpUnreachCode, mssOption,
} from '../../src/packet/index.js';

const client = { src: '198.51.100.100', dst: '203.0.113.10' };

test('a TCP frame decodes back into the headers it was built from', (t) => {
  const f = buildFrame({ eth: { src: '02:00:00:00:00:aa', dst: '02:00:00:00:00:bb' }, ip: client, tcp: { sport: 40000, dport: 80, flags: { syn: true }, options: mssOption(1460) } });
  t.is(f.length, 14 + 20 + 24);
  const d = decodeFrame(f);
  t.like(d.eth, { src: '02:00:00:00:00:aa', dst: '02:00:00:00:00:bb', etherType: 0x0800 });
  t.like(d.ip, { src: client.src, dst: client.dst, protocol: 6, totalLength: 44, checksumValid: true });
  t.like(d.tcp, { sport: 40000, dport: 80, mss: 1460, checksumValid: true });
  t.deepEqual(frameProblems(f), []);
});

test('Ethernet padding after the datagram is kept apart as the trailer', (t) => {
  const f = buildFrame({ ip: client, udp: { sport: 1, dport: 2 }, trailer: Buffer.alloc(6) });
  const d = decodeFrame(f);
  t.is(d.trailer.length, 6);
  t.is(d.udp?.checksumState, 'valid');
});

test('a Geneve frame decodes down to the inner frame with its option', (t) => {
  const inner = buildFrame({ ip: { src: client.src, dst: '198.18.2.5' }, tcp: { sport: 40000, dport: 8080, flags: { ack: true } } });
  const f = buildGeneveFrame({ outer: { src: '198.51.100.1', dst: '198.51.100.2' }, sport: 50000, geneve: { options: [dsrOption('203.0.113.10', 80)] }, inner });
  const d = decodeFrame(f);
  t.is(d.udp?.checksumState, 'none');
  t.is(d.geneve?.options[0]?.data.toString('hex'), 'cb00710a00500000');
  t.like(d.geneve?.inner.ip, { dst: '198.18.2.5', checksumValid: true });
  t.like(d.geneve?.inner.tcp, { dport: 8080, checksumValid: true });
  t.deepEqual(frameProblems(f), []);
});

test('frameProblems names every bad checksum and every cut-short header', (t) => {
  const f = buildFrame({ ip: client, tcp: { sport: 1, dport: 2, checksum: 0x1234 } });
  t.deepEqual(frameProblems(f), ['TCP checksum']);
  f[24] = (f[24] ?? 0) ^ 0xff; // IPv4 header byte: the header checksum breaks too
  t.true(frameProblems(f).includes('IPv4 header checksum'));
  t.deepEqual(frameProblems(f.subarray(0, 30)), ['shorter than an IPv4 header']);
  t.regex(frameProblems(Buffer.from(f.subarray(0, 40)))[0] ?? '', /total length/);
});

test('an ICMP fragmentation-needed frame carries its next-hop MTU and a valid checksum', (t) => {
  const quote = buildFrame({ ip: client, udp: { sport: 1, dport: 2 } }).subarray(14, 14 + 28);
  const f = buildFrame({ ip: { src: client.dst, dst: client.src }, icmp: { type: IcmpType.DEST_UNREACH, code: IcmpUnreachCode.FRAG_NEEDED, rest: 1438, payload: quote } });
  const d = decodeFrame(f);
  t.like(d.icmp, { type: 3, code: 4, nextHopMtu: 1438, checksumValid: true });
});
