/**
 * MSS clamping of a SYN-ACK at tc egress (bpf/lib/tcp.h): every MSS option
 * above what fits once encapsulated is lowered, not only the first; which
 * one a client's stack honours is its own choice. The expected segment is
 * built from scratch, so the TCP checksum is checked independently.
 */
import test from 'ava';
import { buildFrame, decodeFrame, mssOption, type TcpSpec } from '../../src/packet/index.js';
import { Addr, Datapath, Mac, Proto, TcAction } from '../helpers/datapath.js';

/** 1500 - 74 (encapsulation with room for the second-chance option) - 20 (IPv4) - 20 (TCP). */
const CLAMPED = 1386;

function synAck(src: string, sport: number, options: Buffer): Buffer {
  const tcp: TcpSpec = { sport, dport: 40000, seq: 5000, ack: 1001, flags: { syn: true, ack: true }, options };
  return buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src, dst: Addr.client, id: 99 }, tcp });
}

function withFlow(t: Parameters<typeof Datapath.open>[0]): Datapath {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, proto: Proto.TCP, serviceId: 1 });
  return dp;
}

const cases: readonly (readonly [string, (mss1: number, mss2: number) => Buffer, number, number, number])[] = [
  ['two MSS options, both too large', (a, b) => Buffer.concat([mssOption(a), mssOption(b)]), 1460, 8960, CLAMPED],
  ['the second too large, the first small', (a, b) => Buffer.concat([mssOption(a), mssOption(b)]), 1200, 9000, 1200],
  ['two MSS options behind NOPs and other options', (a, b) => Buffer.from([1, 1, 4, 2, ...mssOption(a), 1, 3, 3, 7, ...mssOption(b)]), 1460, 1460, CLAMPED],
  ['ten MSS options filling the 40 bytes', (a) => Buffer.concat(Array.from({ length: 10 }, () => mssOption(a))), 65535, 65535, CLAMPED],
];

for (const [name, options, mss1, mss2, first] of cases) {
  test(`a SYN-ACK with ${name}: every one clamped`, (t) => {
    const dp = withFlow(t);
    const clamp = (m: number): number => Math.min(m, CLAMPED);

    const r = dp.runTc(synAck(Addr.pod, 8080, options(mss1, mss2)));

    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, synAck(Addr.vip, 80, options(clamp(mss1), clamp(mss2))));
    t.true(decodeFrame(r.out).tcp?.checksumValid);
    t.is(decodeFrame(r.out).tcp?.mss, first);
    t.is(dp.stat('MSS_CLAMPED'), 1n);
  });
}

test('SYN-ACKs whose MSS options all fit are left alone', (t) => {
  const dp = withFlow(t);
  const opts = Buffer.concat([mssOption(1200), mssOption(1386)]);
  t.deepEqual(dp.runTc(synAck(Addr.pod, 8080, opts)).out, synAck(Addr.vip, 80, opts));
  t.is(dp.stat('MSS_CLAMPED'), 0n);
});
