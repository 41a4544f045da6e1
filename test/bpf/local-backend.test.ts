/**
 * Local backend (docs/design.md §1.5): DNAT to the pod, reverse-NAT state, and
 * the stack delivers; the pod's reply is rewritten at tc egress.
 */
import test from 'ava';
import { buildFrame } from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, Mac, NodeId, Proto, TcAction, XdpAction } from '../helpers/datapath.js';

test('a packet for a backend on this node is DNATed and passed to the stack with a reverse-NAT entry', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 21, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 2, backends: [21] });

  const r = dp.runXdp(clientTcp({ flags: { syn: true } }));

  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.localPod, id: 0x1234 },
    tcp: { sport: 40000, dport: 8080, seq: 1000, flags: { syn: true } },
  }));
  t.deepEqual(dp.maps.dsrRevnatNew.lookup({ saddr: Addr.localPod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }),
    { address: Addr.vip, port: 80 });
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, PASS_LOCAL: 1 });
});

/** A connection DNATed to the local pod: the SYN went through. */
function connected(t: Parameters<typeof Datapath.open>[0]): Datapath {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 21, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 2, backends: [21] });
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  return dp;
}

function reply(src: string, sport: number): Buffer {
  return buildFrame({
    eth: { src: Mac.nic, dst: Mac.router }, ip: { src, dst: Addr.client }, tcp: { sport, dport: 40000, flags: { ack: true }, payload: Buffer.from('hi') },
  });
}

test('the local pod\'s reply leaves from the VIP', (t) => {
  const dp = connected(t);

  const r = dp.runTc(reply(Addr.localPod, 8080));

  t.is(r.retval, TcAction.UNSPEC);
  t.deepEqual(r.out, reply(Addr.vip, 80));
});

test('the entry the DNAT wrote vouches for the pod until the epoch moves; then the pod must be in lb4_local_backends', (t) => {
  const dp = connected(t);
  for (const [k] of dp.maps.localBackends.entries()) dp.maps.localBackends.delete(k);

  t.deepEqual(dp.runTc(reply(Addr.localPod, 8080)).out, reply(Addr.vip, 80), 'stamped at the current epoch');
  dp.setConfig({ localEpoch: 2 });
  t.deepEqual(dp.runTc(reply(Addr.localPod, 8080)).out, reply(Addr.localPod, 8080), 'the backend went since: left as it is');
  t.is(dp.stat('PASS_REVNAT_NOT_LOCAL'), 1n);
});

test('local backends are DNATed without SNAT in snat mode too', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  dp.addBackend({ id: 21, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 2, backends: [21] });
  const r = dp.runXdp(clientTcp({ flags: { syn: true } }));
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out.subarray(26, 30), Buffer.from([198, 51, 100, 100]), 'client source kept');
  t.deepEqual(dp.maps.snat.entries(), []);
});
