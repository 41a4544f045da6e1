/**
 * A pod's ICMP errors about a flow (bpf/lib/icmp_error.h) leave tc egress as
 * the client must see them: the quote (client -> pod, what the pod got)
 * becomes client -> frontend (what the client sent), and the outer source
 * the frontend when the pod sent the error. Expected frames are built from
 * scratch with src/packet, so the byte comparison checks the outer IPv4,
 * ICMP, quoted IPv4 and quoted L4 checksums independently of the program.
 */
import test from 'ava';
import {
  buildFrame, buildIcmpError, decodeFrame, decodeIcmpQuote, IcmpErrorCodes, IcmpType, IcmpUnreachCode, type FrameSpec,
} from '../../src/packet/index.js';
import { Addr, Datapath, Mac, Proto, TcAction } from '../helpers/datapath.js';

const ROUTER = '198.51.100.254';
const eth = { src: Mac.nic, dst: Mac.router };

/** The client's packet as it left the client, and as the pod received it. */
function requestTo(dst: string, dport: number, proto: number, ip: Partial<FrameSpec['ip']> = {}): Buffer {
  const l4 = proto === Proto.UDP
    ? { udp: { sport: 40000, dport, payload: Buffer.from('question?') } }
    : { tcp: { sport: 40000, dport, seq: 1000, ack: 5, flags: { ack: true, psh: true }, payload: Buffer.from('GET / HTTP/1.1\r\n') } };
  return buildFrame({ eth: { src: Mac.router, dst: Mac.nic }, ip: { src: Addr.client, dst, id: 0x4242, ttl: 61, ...ip }, ...l4 });
}

function withFlow(t: Parameters<typeof Datapath.open>[0], proto: number): Datapath {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto, flags: 0 }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, proto: proto, serviceId: 1 });
  return dp;
}

/** The error the pod sends about `got`, and what must leave instead (about what the client sent). */
function podError(type: number, code: number, proto: number, l4Bytes: number, from: string = Addr.pod, ip: Partial<FrameSpec['ip']> = {}) {
  const mtu = type === IcmpType.DEST_UNREACH && code === IcmpUnreachCode.FRAG_NEEDED ? 1400 : 0;
  const make = (src: string, about: Buffer): Buffer => buildIcmpError({ eth, ip: { src, dst: Addr.client, id: 7, ttl: 64 }, type, code, mtu, about, l4Bytes });
  return {
    sent: make(from, requestTo(Addr.pod, 8080, proto, ip)),
    expected: make(from === Addr.pod ? Addr.vip : from, requestTo(Addr.vip, 80, proto, ip)),
  };
}

for (const type of [IcmpType.DEST_UNREACH, IcmpType.TIME_EXCEEDED, IcmpType.PARAMETER_PROBLEM]) {
  test(`ICMP type ${type}, every code: a pod's error about a UDP flow leaves from the frontend, quoting client -> frontend`, (t) => {
    const dp = withFlow(t, Proto.UDP);
    for (const code of IcmpErrorCodes[type] ?? []) {
      const { sent, expected } = podError(type, code, Proto.UDP, 8);
      const r = dp.runTc(sent);
      t.is(r.retval, TcAction.UNSPEC);
      t.deepEqual(r.out, expected, `code ${code}`);
    }
    t.deepEqual(dp.nonZeroStats(), { ICMP_TO_CLIENT: IcmpErrorCodes[type]?.length });
  });

  test(`ICMP type ${type}, every code: TCP quotes of 8 bytes (no checksum quoted) and of the whole segment`, (t) => {
    const dp = withFlow(t, Proto.TCP);
    for (const code of IcmpErrorCodes[type] ?? []) {
      for (const l4Bytes of [8, 20, 1000]) {
        const { sent, expected } = podError(type, code, Proto.TCP, l4Bytes);
        t.deepEqual(dp.runTc(sent).out, expected, `code ${code}, ${l4Bytes} bytes`);
      }
    }
  });
}

test('every checksum of the rewritten error verifies, and the quote says client -> frontend', (t) => {
  const dp = withFlow(t, Proto.UDP);
  const { sent } = podError(IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT, Proto.UDP, 1000);

  const f = decodeFrame(dp.runTc(sent).out);

  t.like(f.ip, { src: Addr.vip, dst: Addr.client, checksumValid: true });
  t.like(f.icmp, { type: 3, code: 3, checksumValid: true });
  const q = decodeIcmpQuote(f.icmp?.payload ?? Buffer.alloc(0));
  t.like(q.ip, { src: Addr.client, dst: Addr.vip, checksumValid: true });
  t.like(q, { sport: 40000, dport: 80 });
  // The whole datagram is quoted: its UDP checksum verifies against the quoted addresses.
  t.is(decodeFrame(Buffer.concat([Buffer.alloc(12), Buffer.from([8, 0]), f.icmp?.payload ?? Buffer.alloc(0)])).udp?.checksumState, 'valid');
});

test('a UDP quote without a checksum keeps none', (t) => {
  const dp = withFlow(t, Proto.UDP);
  const about = (dst: string, dport: number): Buffer => buildFrame({ ip: { src: Addr.client, dst, id: 1 }, udp: { sport: 40000, dport, payload: Buffer.from('x'), checksum: 'none' } });
  const err = (src: string, a: Buffer): Buffer => buildIcmpError({ eth, ip: { src, dst: Addr.client }, type: 3, code: 3, about: a });
  t.deepEqual(dp.runTc(err(Addr.pod, about(Addr.pod, 8080))).out, err(Addr.vip, about(Addr.vip, 80)));
});

test('a quoted header with IPv4 options is rewritten behind them', (t) => {
  const dp = withFlow(t, Proto.UDP);
  const { sent, expected } = podError(IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT, Proto.UDP, 8, Addr.pod, { options: Buffer.from([1, 1, 1, 0, 7, 7, 4, 0]) });
  t.deepEqual(dp.runTc(sent).out, expected);
});

test('an error from a router about a flow keeps the router as its source; the quote is still rewritten', (t) => {
  const dp = withFlow(t, Proto.TCP);
  const { sent, expected } = podError(IcmpType.TIME_EXCEEDED, 0, Proto.TCP, 8, ROUTER);
  const r = dp.runTc(sent);
  t.deepEqual(r.out, expected);
  t.is(decodeFrame(r.out).ip?.src, ROUTER);
});

test('errors quoting no flow, ICMP that is no error and cut-short quotes leave untouched and uncounted', (t) => {
  const dp = withFlow(t, Proto.UDP);
  const other = podError(IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT, Proto.TCP, 8).sent; // a TCP tuple: no entry
  const echo = buildFrame({ eth, ip: { src: Addr.pod, dst: Addr.client }, icmp: { type: IcmpType.ECHO_REPLY, code: 0, rest: 0x10001, payload: Buffer.alloc(32) } });
  const short = buildIcmpError({ eth, ip: { src: Addr.pod, dst: Addr.client }, type: 3, code: 3, about: requestTo(Addr.pod, 8080, Proto.UDP), l4Bytes: 4 });
  for (const frame of [other, echo, short]) {
    const r = dp.runTc(frame);
    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, frame);
  }
  t.deepEqual(dp.nonZeroStats(), {});
});

test('an error quoting a flow whose source is no local backend leaves untouched, from the pod or a router, counted', (t) => {
  const dp = Datapath.open(t);
  // A host socket's tuple that happens to match an unstamped entry: not ours to rewrite.
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.UDP, flags: 0 }, { address: Addr.vip, port: 80 });
  for (const from of [Addr.pod, ROUTER]) {
    const { sent } = podError(IcmpType.DEST_UNREACH, IcmpUnreachCode.PORT, Proto.UDP, 8, from);
    const r = dp.runTc(sent);
    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, sent);
  }
  t.deepEqual(dp.nonZeroStats(), { PASS_REVNAT_NOT_LOCAL: 2 });
});
