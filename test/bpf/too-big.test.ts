/**
 * Too big (docs/design.md §1.7): a client packet that would exceed the MTU once
 * encapsulated, with DF set, is answered with ICMP fragmentation needed
 * carrying the usable MTU; never dropped silently.
 */
import test from 'ava';
import { buildFrame, decodeFrame, IcmpType, IcmpUnreachCode } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

const MTU = 1500;

function remote(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod, port: 5353, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [12], port: 53, proto: Proto.UDP });
}

/** A TCP segment whose IPv4 packet is `total` bytes. */
function ofSize(total: number, ip: { df?: boolean; options?: Buffer } = {}): Buffer {
  const hdrs = 20 + (ip.options?.length ?? 0) + 20;
  return clientTcp({ flags: { ack: true }, payload: Buffer.alloc(total - hdrs, 0x61) }, ip);
}

function fragNeeded(request: Buffer, mtu: number, ihl = 20): Buffer {
  return buildFrame({
    eth: { src: Mac.nic, dst: Mac.router },
    ip: { src: Addr.vip, dst: Addr.client, id: 0, ttl: 64, df: false },
    icmp: { type: IcmpType.DEST_UNREACH, code: IcmpUnreachCode.FRAG_NEEDED, rest: mtu, payload: request.subarray(14, 14 + ihl + 8) },
  });
}

test('a DF packet one byte over MTU minus the encapsulation gets fragmentation-needed with the usable MTU', (t) => {
  const dp = Datapath.open(t, { mtu: MTU });
  remote(dp);
  const request = ofSize(MTU - 62 + 1);

  const r = dp.runXdp(request);

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out, fragNeeded(request, MTU - 62));
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_TOO_BIG: 1 });
});

test('a packet that fits exactly is encapsulated to the full MTU', (t) => {
  const dp = Datapath.open(t, { mtu: MTU });
  remote(dp);
  const r = dp.runXdp(ofSize(MTU - 62));
  t.is(r.retval, XdpAction.TX);
  t.is(decodeFrame(r.out).ip?.totalLength, MTU);
});

test('the quote keeps the client\'s IPv4 options', (t) => {
  const dp = Datapath.open(t, { mtu: MTU });
  remote(dp);
  const options = Buffer.from([0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00]);
  const request = ofSize(MTU, { options });
  t.deepEqual(dp.runXdp(request).out, fragNeeded(request, MTU - 62, 28));
});

test('SNAT mode carries its marker option, so the same size fits', (t) => {
  const dp = Datapath.open(t, { mtu: MTU, mode: 'snat' });
  remote(dp);
  t.is(dp.runXdp(ofSize(MTU - 62)).retval, XdpAction.TX);
  const request = ofSize(MTU - 62 + 1);
  t.deepEqual(dp.runXdp(request).out, fragNeeded(request, MTU - 62));
});

test('a too-big UDP datagram with DF clear cannot be fragmented here: dropped and counted', (t) => {
  const dp = Datapath.open(t, { mtu: MTU });
  remote(dp);
  const big = clientUdp({ payload: Buffer.alloc(MTU - 28) }, { df: false });
  t.is(dp.runXdp(big).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_TOO_BIG'), 1n);
});

test('a route MTU below the configured one is honoured too', (t) => {
  const dp = Datapath.open(t, { mtu: MTU });
  remote(dp);
  dp.setDeviceMtu(1400);
  const request = ofSize(1400 - 62 + 1);
  t.deepEqual(dp.runXdp(request).out, fragNeeded(request, 1400 - 62));
});
