/**
 * Fragments of a reply (bpf/lib/frag.h): the first fragment, which carries
 * the ports, matches lb4_dsr_revnat and is rewritten (its L4 checksum
 * covers the whole datagram); it records the frontend under {pod, client,
 * IP id, proto}, and every later fragment gets the same source from there.
 * No fragment of a known reply leaves with the pod's address.
 */
import test from 'ava';
import { buildFrame, decodeFrame, fragmentFrame, udpChecksumState } from '../../src/packet/index.js';
import { Addr, Datapath, Mac, Proto, TcAction } from '../helpers/datapath.js';

const eth = { src: Mac.nic, dst: Mac.router };
const payload = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));

function udpReply(src: string, sport: number, id = 0x7777, checksum?: 'none'): Buffer {
  return buildFrame({ eth, ip: { src, dst: Addr.client, id, df: false }, udp: { sport, dport: 40000, payload, ...(checksum ? { checksum } : {}) } });
}

function withFlow(t: Parameters<typeof Datapath.open>[0], proto: number = Proto.UDP): Datapath {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto, flags: 0 }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, proto: proto, serviceId: 1 });
  return dp;
}

test('every fragment of a 3,000-byte UDP reply leaves from the frontend; the first also from its port', (t) => {
  const dp = withFlow(t);
  const sent = fragmentFrame(udpReply(Addr.pod, 8080), 1500);
  const expected = fragmentFrame(udpReply(Addr.vip, 80), 1500);
  t.is(sent.length, 3);

  const outs = sent.map((frag, i) => {
    const r = dp.runTc(frag);
    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, expected[i], `fragment ${i}`);
    t.true(decodeFrame(r.out).ip?.checksumValid);
    return r.out;
  });
  t.deepEqual(dp.maps.fragRevnat.lookup({ saddr: Addr.pod, daddr: Addr.client, id: 0x7777, proto: Proto.UDP }), { address: Addr.vip, port: 80 });
  t.deepEqual(dp.nonZeroStats(), { FRAG_REVNAT: 3 });
  // Reassembled as the client does, the datagram's UDP checksum verifies against the frontend's address.
  const datagram = Buffer.concat(outs.map((f) => f.subarray(14 + 20)));
  t.is(datagram.length, 8 + payload.length);
  t.is(udpChecksumState(datagram, Addr.vip, Addr.client), 'valid');
});

test('a datagram without a UDP checksum keeps none; fragments of another datagram id are not taken for this one', (t) => {
  const dp = withFlow(t);
  const sent = fragmentFrame(udpReply(Addr.pod, 8080, 1, 'none'), 1000);
  const expected = fragmentFrame(udpReply(Addr.vip, 80, 1, 'none'), 1000);
  sent.forEach((frag, i) => t.deepEqual(dp.runTc(frag).out, expected[i], `fragment ${i}`));

  const [, laterOfOther] = fragmentFrame(udpReply(Addr.pod, 8080, 2), 1000);
  t.deepEqual(dp.runTc(laterOfOther ?? Buffer.alloc(0)).out, laterOfOther);
});

test('later fragments whose first fragment was not a known reply leave untouched, uncounted', (t) => {
  const dp = withFlow(t);
  const [first, ...later] = fragmentFrame(udpReply(Addr.pod2, 8080), 1500);
  for (const frag of [first, ...later]) {
    const f = frag ?? Buffer.alloc(0);
    t.deepEqual(dp.runTc(f).out, f);
  }
  t.deepEqual(dp.maps.fragRevnat.entries(), []);
  t.deepEqual(dp.nonZeroStats(), {});
});

test('a fragmented TCP reply is rewritten too (checksum in the first fragment)', (t) => {
  const dp = withFlow(t, Proto.TCP);
  const seg = (src: string, sport: number): Buffer => buildFrame({ eth, ip: { src, dst: Addr.client, id: 9, df: false }, tcp: { sport, dport: 40000, flags: { ack: true }, payload } });
  const expected = fragmentFrame(seg(Addr.vip, 80), 1500);
  fragmentFrame(seg(Addr.pod, 8080), 1500).forEach((frag, i) => t.deepEqual(dp.runTc(frag).out, expected[i], `fragment ${i}`));
});

test('a reply\'s first fragment cut before its TCP checksum cannot be rewritten and is dropped, counted', (t) => {
  const dp = withFlow(t, Proto.TCP);
  const seg = buildFrame({ eth, ip: { src: Addr.pod, dst: Addr.client, id: 9, df: false }, tcp: { sport: 8080, dport: 40000, flags: { ack: true }, payload } });
  // 16 bytes of TCP in the first fragment: ports, but not the checksum (bytes 16-17).
  const [tiny] = fragmentFrame(seg, 20 + 16);
  const r = dp.runTc(tiny ?? Buffer.alloc(0));
  t.is(r.retval, TcAction.SHOT);
  t.deepEqual(dp.nonZeroStats(), { DROP_FRAG_SHORT: 1 });
});

test('a fragmented reply whose source is no local backend (a host socket matching an entry) leaves untouched, nothing recorded', (t) => {
  const dp = Datapath.open(t);
  // An entry not stamped at the current epoch, for a source lb4_local_backends does not hold.
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.UDP, flags: 0 }, { address: Addr.vip, port: 80 });
  const sent = fragmentFrame(udpReply(Addr.pod, 8080), 1500);
  for (const frag of sent) {
    const r = dp.runTc(frag);
    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, frag);
  }
  t.deepEqual(dp.maps.fragRevnat.entries(), []);
  t.deepEqual(dp.nonZeroStats(), { PASS_REVNAT_NOT_LOCAL: 1 });
});
