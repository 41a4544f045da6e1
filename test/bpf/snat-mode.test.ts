/**
 * SNAT mode (docs/design.md §1.6): the client's flow leaves the LB node from
 * node:port towards the pod (Geneve without the DSR option), and the pod's
 * reply to node:port is turned back into frontend -> client here.
 */
import test from 'ava';
import { buildFrame, buildGeneveFrame, decodeFrame, flowHash, geneveSourcePort, snatOption } from '../../src/packet/index.js';
import {
  Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, XdpAction,
} from '../helpers/datapath.js';

const SNAT_MIN = 61000;
const SNAT_RANGE = 65535 - SNAT_MIN + 1;
const tuple = { src: Addr.client, dst: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP };
const firstPort = SNAT_MIN + (flowHash(tuple) % SNAT_RANGE);

function snatService(dp: Datapath, proto: number = Proto.TCP, port = 80): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto });
  dp.setService({ serviceId: 1, backends: [11], proto, port });
}

function replyKey(port: number, proto: number = Proto.TCP) {
  return { saddr: Addr.pod, daddr: Addr.lbNode, sport: 8080, dport: port, proto, flags: 1 };
}

test('a client flow leaves from this node and a port, Geneve-encapsulated with the SNAT marker instead of the DSR option', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  const syn = { flags: { syn: true }, seq: 77 };

  const r = dp.runXdp(clientTcp(syn));

  t.is(r.retval, XdpAction.TX);
  const inner = buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.lbNode, dst: Addr.pod, id: 0x1234 },
    tcp: { sport: firstPort, dport: 8080, ...syn },
  });
  t.deepEqual(r.out, buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport: geneveSourcePort(tuple),
    geneve: { options: [snatOption(Addr.vip, 80)] },
    inner,
  }));
  t.deepEqual(dp.maps.snatNew.lookup({ saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 }),
    { saddr: Addr.lbNode, daddr: Addr.pod, sport: firstPort, dport: 8080 });
  t.deepEqual(dp.maps.snatNew.lookup(replyKey(firstPort)), { saddr: Addr.vip, daddr: Addr.client, sport: 80, dport: 40000 });
  t.deepEqual(dp.maps.snat.entries(), [], 'unconfirmed until the pod answers');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_SNAT: 1 });
});

test('the pod\'s reply to this node is rewritten to come from the VIP and sent to the client\'s next hop', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  const synAck = { flags: { syn: true, ack: true }, seq: 9000, ack: 1001 };

  const r = dp.runXdp(buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    ip: { src: Addr.pod, dst: Addr.lbNode, id: 5, ttl: 63 },
    tcp: { sport: 8080, dport: firstPort, ...synAck },
  }));

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out, buildFrame({
    eth: { src: Mac.nic, dst: Mac.router },
    ip: { src: Addr.vip, dst: Addr.client, id: 5, ttl: 63 },
    tcp: { sport: 80, dport: 40000, ...synAck },
  }));
  t.is(dp.stat('TX_SNAT_REPLY'), 1n);
});

test('later packets of the flow reuse its port', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  const r = dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.is(decodeFrame(r.out).geneve?.inner.tcp?.sport, firstPort);
  t.is(dp.maps.snatNew.entries().length, 2);
});

test('a port already taken by another connection is skipped for the next one', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  dp.maps.snat.update(replyKey(firstPort), { saddr: Addr.vip, daddr: '198.51.100.200', sport: 80, dport: 1 });

  const r = dp.runXdp(clientTcp({ flags: { syn: true } }));

  const next = SNAT_MIN + ((flowHash(tuple) + 1) % SNAT_RANGE);
  t.is(decodeFrame(r.out).geneve?.inner.tcp?.sport, next);
  t.deepEqual(dp.maps.snat.lookup(replyKey(firstPort)), { saddr: Addr.vip, daddr: '198.51.100.200', sport: 80, dport: 1 });
});

test('when every port tried is taken the packet is dropped and counted', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  dp.setConfig({ snatPortMin: 62000, snatPortMax: 62000 });
  dp.maps.snat.update(replyKey(62000), { saddr: Addr.vip, daddr: '198.51.100.200', sport: 80, dport: 1 });

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_SNAT_PORTS'), 1n);
});

test('a UDP flow is SNATed the same way', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp, Proto.UDP, 53);
  const utuple = { ...tuple, dport: 53, proto: Proto.UDP };
  const port = SNAT_MIN + (flowHash(utuple) % SNAT_RANGE);

  const r = dp.runXdp(clientUdp());

  t.deepEqual(r.out, buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport: geneveSourcePort(utuple),
    geneve: { options: [snatOption(Addr.vip, 53)] },
    inner: buildFrame({
      eth: { src: Mac.router, dst: Mac.nic },
      ip: { src: Addr.lbNode, dst: Addr.pod, id: 0x1234 },
      udp: { sport: port, dport: 8080, payload: Buffer.from('query') },
    }),
  }));
});

test('traffic to this node on a port without a SNAT entry goes to the stack untouched', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  snatService(dp);
  const ssh = buildFrame({ eth: { src: Mac.router, dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.lbNode }, tcp: { sport: 50000, dport: 62001, flags: { syn: true } } });
  const r = dp.runXdp(ssh);
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, ssh);
});
