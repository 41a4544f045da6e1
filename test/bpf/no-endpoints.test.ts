/**
 * noEndpointsAction: "reject" answers in XDP (TCP RST, ICMP port
 * unreachable) from the frontend the client used; "drop" drops and counts.
 */
import test from 'ava';
import { buildFrame, IcmpType, IcmpUnreachCode } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, Proto, SvcFlag, XdpAction } from '../helpers/datapath.js';

function noEndpoints(dp: Datapath, flags: number, proto: number = Proto.TCP, port = 80): void {
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, flags, proto, port });
}

const toClient = { eth: { src: Mac.nic, dst: Mac.router } };

test('a SYN to a rejecting service without endpoints is answered with RST+ACK from the VIP', (t) => {
  const dp = Datapath.open(t);
  noEndpoints(dp, SvcFlag.NOEP_REJECT);

  const r = dp.runXdp(clientTcp({ flags: { syn: true }, seq: 0xffffffff }));

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out, buildFrame({
    ...toClient,
    ip: { src: Addr.vip, dst: Addr.client, id: 0, ttl: 64, df: true },
    tcp: { sport: 80, dport: 40000, seq: 0, ack: 0, flags: { rst: true, ack: true }, window: 0 },
  }), 'the ACK number wraps: 0xffffffff + 1 (SYN) = 0');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_REJECT: 1 });
});

test('a segment carrying an ACK is answered with a RST whose sequence number is that ACK', (t) => {
  const dp = Datapath.open(t);
  noEndpoints(dp, SvcFlag.NOEP_REJECT);
  // IPv4 options and TCP options in the request do not end up in the RST.
  const r = dp.runXdp(clientTcp(
    { flags: { ack: true, psh: true }, seq: 1000, ack: 555, options: Buffer.from([1, 1, 1, 1]), payload: Buffer.from('abc') },
    { options: Buffer.from([0x01, 0x01, 0x01, 0x01]) },
  ));

  t.deepEqual(r.out, buildFrame({
    ...toClient,
    ip: { src: Addr.vip, dst: Addr.client, id: 0, ttl: 64, df: true },
    tcp: { sport: 80, dport: 40000, seq: 555, ack: 0, flags: { rst: true }, window: 0 },
  }));
});

test('a RST is never answered', (t) => {
  const dp = Datapath.open(t);
  noEndpoints(dp, SvcFlag.NOEP_REJECT);
  t.is(dp.runXdp(clientTcp({ flags: { rst: true } })).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_NO_ENDPOINTS'), 1n);
});

test('UDP to a rejecting service without endpoints is answered with ICMP port unreachable quoting the request', (t) => {
  const dp = Datapath.open(t);
  noEndpoints(dp, SvcFlag.NOEP_REJECT, Proto.UDP, 53);
  const request = clientUdp();

  const r = dp.runXdp(request);

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out, buildFrame({
    ...toClient,
    ip: { src: Addr.vip, dst: Addr.client, id: 0, ttl: 64, df: false },
    icmp: { type: IcmpType.DEST_UNREACH, code: IcmpUnreachCode.PORT, rest: 0, payload: request.subarray(14, 14 + 20 + 8) },
  }));
});

test('a dropping service without endpoints drops and counts', (t) => {
  const dp = Datapath.open(t);
  noEndpoints(dp, SvcFlag.NOEP_DROP);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, DROP_NO_ENDPOINTS: 1 });
});
