/**
 * Reply path (docs/design.md §1.4): tc egress rewrites a reply that matches a
 * reverse-NAT entry to come from the frontend, and clamps the MSS its
 * SYN-ACK advertises so the client's segments fit once encapsulated.
 */
import test from 'ava';
import { buildFrame, decodeFrame, mssOption, type TcpSpec, type UdpSpec } from '../../src/packet/index.js';
import { Addr, Datapath, Mac, Proto, TcAction } from '../helpers/datapath.js';

const entry = { saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 };
/** 1500 - 62 (encapsulation) - 20 (IPv4) - 20 (TCP). */
/** 1500 - 74 (encapsulation with room for the second-chance option) - 40. */
const CLAMPED_MSS = 1386;

function podTcp(tcp: Partial<TcpSpec>, src: string = Addr.pod, sport = 8080): Buffer {
  return buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src, dst: Addr.client, id: 99 }, tcp: { sport, dport: 40000, seq: 5000, ack: 1001, ...tcp } });
}

function podUdp(udp: Partial<UdpSpec>): Buffer {
  return buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client, id: 99 }, udp: { sport: 8080, dport: 40000, payload: Buffer.from('answer'), ...udp } });
}

function withReverseNat(t: Parameters<typeof Datapath.open>[0], proto: number = Proto.TCP): Datapath {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ ...entry, proto }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, proto, serviceId: 1 });
  return dp;
}

test('a reply matching a reverse-NAT entry leaves from the frontend address and port', (t) => {
  const dp = withReverseNat(t);
  const data = { flags: { ack: true, psh: true }, payload: Buffer.from('HTTP/1.1 200 OK\r\n\r\n') };

  const r = dp.runTc(podTcp(data));

  t.is(r.retval, TcAction.UNSPEC);
  t.deepEqual(r.out, podTcp(data, Addr.vip, 80));
  t.deepEqual(dp.nonZeroStats(), { REVNAT_REWRITE: 1 });
});

test('a UDP reply is rewritten, and one without a checksum keeps none', (t) => {
  const dp = withReverseNat(t, Proto.UDP);
  const expected = (udp: Partial<UdpSpec>): Buffer => buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.vip, dst: Addr.client, id: 99 }, udp: { sport: 80, dport: 40000, payload: Buffer.from('answer'), ...udp } });
  t.deepEqual(dp.runTc(podUdp({})).out, expected({}));
  t.deepEqual(dp.runTc(podUdp({ checksum: 'none' })).out, expected({ checksum: 'none' }));
});

test('a SYN-ACK advertising more than fits once encapsulated has its MSS clamped', (t) => {
  const dp = withReverseNat(t);
  const synAck = (mss: number): Partial<TcpSpec> => ({ flags: { syn: true, ack: true }, options: Buffer.concat([mssOption(mss), Buffer.from([1, 3, 3, 7])]) });

  const r = dp.runTc(podTcp(synAck(1460)));

  t.deepEqual(r.out, podTcp(synAck(CLAMPED_MSS), Addr.vip, 80));
  t.is(decodeFrame(r.out).tcp?.mss, CLAMPED_MSS);
  t.is(dp.stat('MSS_CLAMPED'), 1n);
});

test('the MSS option is found behind other options; a small MSS is left alone', (t) => {
  const dp = withReverseNat(t);
  const late = (mss: number): Partial<TcpSpec> => ({ flags: { syn: true, ack: true }, options: Buffer.from([1, 1, 4, 2, 1, 3, 3, 7, ...mssOption(mss)]) });
  t.deepEqual(dp.runTc(podTcp(late(8960))).out, podTcp(late(CLAMPED_MSS), Addr.vip, 80));
  t.deepEqual(dp.runTc(podTcp(late(1200))).out, podTcp(late(1200), Addr.vip, 80));
  t.is(dp.stat('MSS_CLAMPED'), 1n);
});

test('only SYN-ACKs are clamped: an MSS-looking option on a data segment is untouched', (t) => {
  const dp = withReverseNat(t);
  const seg = { flags: { ack: true }, options: mssOption(1460) };
  t.deepEqual(dp.runTc(podTcp(seg)).out, podTcp(seg, Addr.vip, 80));
  t.is(dp.stat('MSS_CLAMPED'), 0n);
});

test('traffic without a reverse-NAT entry leaves untouched', (t) => {
  const dp = withReverseNat(t);
  const other = podTcp({ flags: { ack: true } }, Addr.pod2);
  const r = dp.runTc(other);
  t.is(r.retval, TcAction.UNSPEC);
  t.deepEqual(r.out, other);
  const arp = buildFrame({ eth: { etherType: 0x0806 }, ip: { src: Addr.pod, dst: Addr.client }, raw: Buffer.alloc(8) });
  t.deepEqual(dp.runTc(arp).out, arp);
  t.deepEqual(dp.nonZeroStats(), {});
});
