/**
 * The LB node's flow state that floods cannot evict (docs/datapath.md "Flow
 * state on the LB node"): in SNAT mode a new flow's lb4_flows entry and both
 * its lb4_snat entries go to the unconfirmed tables; the pod's first segment
 * after its handshake, seen on its way back through this node, moves all
 * three to the established tables; its RST deletes them, its FIN moves them
 * back for good. UDP flows and affinity flows in DSR mode stay unconfirmed.
 */
import test, { type ExecutionContext } from 'ava';
import { DSRLB_MAX_FLOWS_NEW, DSRLB_SVC_F_AFFINITY } from '../../src/bpf/index.js';
import { buildFrame, decodeFrame, flowHash, type TcpFlags } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, flowEntry, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

const SNAT_MIN = 61000;
const SNAT_RANGE = 65535 - SNAT_MIN + 1;
const POD_PORT = 8080;

function snatNode(t: ExecutionContext): Datapath {
  const dp = Datapath.open(t, { mode: 'snat' });
  dp.addBackend({ id: 11, address: Addr.pod, port: POD_PORT, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
  return dp;
}

const clientKey = (cport: number, client: string = Addr.client, proto: number = Proto.TCP) =>
  ({ saddr: client, daddr: Addr.vip, sport: cport, dport: proto === Proto.UDP ? 53 : 80, proto, flags: 0 });

/** The SNAT port the first try gives client port `cport` (no collision in these tests but the flood's). */
function snatPort(cport: number, client: string = Addr.client, proto: number = Proto.TCP): number {
  const dport = proto === Proto.UDP ? 53 : 80;
  return SNAT_MIN + (flowHash({ src: client, dst: Addr.vip, sport: cport, dport, proto }) % SNAT_RANGE);
}

const replyKey = (port: number, proto: number = Proto.TCP) =>
  ({ saddr: Addr.pod, daddr: Addr.lbNode, sport: POD_PORT, dport: port, proto, flags: 1 });

/** The pod's segment to SNAT port `port`, as it reaches the LB node. */
function fromPod(port: number, flags: TcpFlags): Buffer {
  return buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    ip: { src: Addr.pod, dst: Addr.lbNode, id: 5, ttl: 63 },
    tcp: { sport: POD_PORT, dport: port, seq: 9000, ack: 1001, flags },
  });
}

/** The same segment as it must leave for the client. */
function toClient(cport: number, flags: TcpFlags): Buffer {
  return buildFrame({
    eth: { src: Mac.nic, dst: Mac.router },
    ip: { src: Addr.vip, dst: Addr.client, id: 5, ttl: 63 },
    tcp: { sport: 80, dport: cport, seq: 9000, ack: 1001, flags },
  });
}

/** Which tables hold the connection's three entries. */
function tables(dp: Datapath, cport: number, client: string = Addr.client) {
  const key = clientKey(cport, client);
  const port = dp.maps.snat.lookup(key)?.sport ?? dp.maps.snatNew.lookup(key)?.sport ?? snatPort(cport, client);
  const at = (est: boolean, neu: boolean) => est && !neu ? 'established' : neu && !est ? 'unconfirmed' : est ? 'both' : 'none';
  return {
    flow: at(!!dp.maps.flows.lookup(key), !!dp.maps.flowsNew.lookup(key)),
    snat: at(!!dp.maps.snat.lookup(key), !!dp.maps.snatNew.lookup(key)),
    reply: at(!!dp.maps.snat.lookup(replyKey(port)), !!dp.maps.snatNew.lookup(replyKey(port))),
  };
}
const ALL = (w: string) => ({ flow: w, snat: w, reply: w });
/** A map's entries in a fixed order (a hash map's own order depends on its random seed). */
const sorted = <T>(entries: T[]): T[] => entries.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** A real connection: SYN, SYN-ACK, ACK, the pod's data. */
function connect(dp: Datapath, cport: number): void {
  dp.runXdp(clientTcp({ sport: cport, flags: { syn: true } }));
  dp.runXdp(fromPod(snatPort(cport), { syn: true, ack: true }));
  dp.runXdp(clientTcp({ sport: cport, flags: { ack: true } }));
  dp.runXdp(fromPod(snatPort(cport), { ack: true, psh: true }));
}

test('SNAT mode: a flow is unconfirmed until the pod sends a segment after its handshake, then its three entries are established', (t) => {
  const dp = snatNode(t);
  const port = snatPort(40000);
  const forward = { saddr: Addr.lbNode, daddr: Addr.pod, sport: port, dport: POD_PORT };
  const reply = { saddr: Addr.vip, daddr: Addr.client, sport: 80, dport: 40000 };

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX);
  t.like(dp.maps.flowsNew.lookup(clientKey(40000)), { ...flowEntry(11), state: 1, flags: 0 });
  t.deepEqual(sorted(dp.maps.snatNew.entries()), sorted([[clientKey(40000), forward], [replyKey(port), reply]]));
  t.deepEqual([dp.maps.flows.entries(), dp.maps.snat.entries()], [[], []], 'nothing established by a SYN');

  // The SYN-ACK is translated but confirms nothing: the pod answers any SYN so.
  const synAck = dp.runXdp(fromPod(port, { syn: true, ack: true }));
  t.deepEqual([synAck.retval, synAck.out], [XdpAction.TX, toClient(40000, { syn: true, ack: true })]);
  t.deepEqual(tables(dp, 40000), ALL('unconfirmed'));

  // The client's ACK does not either: anybody can send one.
  dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.deepEqual(tables(dp, 40000), ALL('unconfirmed'));
  t.is(dp.stat('FLOW_PROMOTED'), 0n);

  // The pod's data: its handshake is complete.
  const data = dp.runXdp(fromPod(port, { ack: true, psh: true }));
  t.deepEqual([data.retval, data.out], [XdpAction.TX, toClient(40000, { ack: true, psh: true })]);
  t.deepEqual(tables(dp, 40000), ALL('established'));
  t.deepEqual(sorted(dp.maps.snat.entries()), sorted([[clientKey(40000), forward], [replyKey(port), reply]]), 'the same entries, moved');
  t.like(dp.maps.flows.lookup(clientKey(40000)), { ...flowEntry(11), state: 2, flags: 0 });
  t.deepEqual([dp.maps.flowsNew.entries(), dp.maps.snatNew.entries()], [[], []]);
  t.is(dp.stat('FLOW_PROMOTED'), 1n);

  // Established: the next packets each way are translated as before, nothing moves.
  const fwd = dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.is(fwd.retval, XdpAction.TX);
  t.deepEqual(dp.runXdp(fromPod(port, { ack: true })).out, toClient(40000, { ack: true }));
  t.is(dp.stat('FLOW_PROMOTED'), 1n);
  t.deepEqual(tables(dp, 40000), ALL('established'));
});

test('SNAT mode: the pod\'s RST deletes the flow\'s entries, unconfirmed or established', (t) => {
  const dp = snatNode(t);
  dp.runXdp(clientTcp({ sport: 40001, flags: { syn: true } }));
  t.is(dp.runXdp(fromPod(snatPort(40001), { rst: true, ack: true })).retval, XdpAction.TX, 'the RST still reaches the client');
  t.deepEqual(tables(dp, 40001), ALL('none'));

  connect(dp, 40002);
  t.deepEqual(tables(dp, 40002), ALL('established'));
  dp.runXdp(fromPod(snatPort(40002), { rst: true }));
  t.deepEqual(tables(dp, 40002), ALL('none'));
  t.is(dp.stat('FLOW_CLOSED'), 2n);
});

test('SNAT mode: the pod\'s FIN moves an established flow back to unconfirmed for good; a SYN reusing the tuple starts over', (t) => {
  const dp = snatNode(t);
  connect(dp, 40003);
  dp.runXdp(fromPod(snatPort(40003), { fin: true, ack: true }));
  t.deepEqual(tables(dp, 40003), ALL('unconfirmed'));
  t.like(dp.maps.flowsNew.lookup(clientKey(40003)), { flags: 1 });
  t.is(dp.stat('FLOW_CLOSED'), 1n);

  // The last ACKs of the close never promote it again; a retransmitted FIN changes nothing.
  dp.runXdp(clientTcp({ sport: 40003, flags: { fin: true, ack: true } }));
  dp.runXdp(fromPod(snatPort(40003), { ack: true }));
  dp.runXdp(fromPod(snatPort(40003), { fin: true, ack: true }));
  t.deepEqual(tables(dp, 40003), ALL('unconfirmed'));
  t.deepEqual([dp.stat('FLOW_PROMOTED'), dp.stat('FLOW_CLOSED')], [1n, 1n]);

  // A new connection on the same tuple is confirmed like any.
  connect(dp, 40003);
  t.deepEqual(tables(dp, 40003), ALL('established'));
  t.is(dp.stat('FLOW_PROMOTED'), 2n);
});

test('SNAT mode: a UDP flow is never promoted, whatever the pod answers', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  dp.addBackend({ id: 11, address: Addr.pod, port: POD_PORT, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11], proto: Proto.UDP, port: 53 });
  const port = snatPort(40000, Addr.client, Proto.UDP);
  dp.runXdp(clientUdp());
  const answer = buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, ip: { src: Addr.pod, dst: Addr.lbNode, id: 5, ttl: 63 },
    udp: { sport: POD_PORT, dport: port, payload: Buffer.from('answer') },
  });
  t.is(dp.runXdp(answer).retval, XdpAction.TX);
  dp.runXdp(clientUdp());
  t.is(dp.runXdp(answer).retval, XdpAction.TX);
  t.truthy(dp.maps.flowsNew.lookup(clientKey(40000, Addr.client, Proto.UDP)));
  t.is(dp.maps.snatNew.entries().length, 2);
  t.deepEqual([dp.maps.flows.entries(), dp.maps.snat.entries()], [[], []]);
  t.is(dp.stat('FLOW_PROMOTED'), 0n);
});

/** The local pod's segment to client port `cport`, leaving through tc egress (rewritten there to come from the VIP). */
function fromLocalPod(cport: number, flags: TcpFlags): Buffer {
  return buildFrame({
    eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.localPod, dst: Addr.client, id: 99 },
    tcp: { sport: POD_PORT, dport: cport, seq: 5000, ack: 1001, flags },
  });
}

for (const [mode, flags] of [['snat', 0], ['dsr', DSRLB_SVC_F_AFFINITY]] as const) {
  test(`${mode === 'snat' ? 'SNAT mode' : 'DSR mode, affinity'}: a flow to a backend on this node is confirmed at tc egress with the pod's reverse-NAT entry; RST and FIN as for the others`, (t) => {
    const dp = Datapath.open(t, { mode });
    dp.addBackend({ id: 21, address: Addr.localPod, port: POD_PORT, nodeId: NodeId.lb });
    dp.setService({ serviceId: 1, backends: [21], flags, affinityTimeout: 300 });
    const at = (cport: number): string => dp.maps.flows.lookup(clientKey(cport)) ? 'established'
      : dp.maps.flowsNew.lookup(clientKey(cport)) ? 'unconfirmed' : 'none';
    t.is(dp.runXdp(clientTcp({ sport: 40010, flags: { syn: true } })).retval, XdpAction.PASS, 'DNATed to the local pod');
    dp.runTc(fromLocalPod(40010, { syn: true, ack: true }));
    t.is(at(40010), 'unconfirmed', 'a SYN-ACK confirms nothing');
    dp.runXdp(clientTcp({ sport: 40010, flags: { ack: true } }));
    dp.runTc(fromLocalPod(40010, { ack: true, psh: true }));
    t.is(at(40010), 'established');
    t.like(dp.maps.flows.lookup(clientKey(40010)), flowEntry(21));
    t.deepEqual([dp.stat('REVNAT_PROMOTED'), dp.stat('FLOW_PROMOTED')], [1n, 1n]);

    dp.runTc(fromLocalPod(40010, { fin: true, ack: true }));
    t.is(at(40010), 'unconfirmed', 'FIN: back for good');
    t.like(dp.maps.flowsNew.lookup(clientKey(40010)), { flags: 1 });
    dp.runTc(fromLocalPod(40010, { ack: true }));
    t.is(at(40010), 'unconfirmed');

    dp.runXdp(clientTcp({ sport: 40011, flags: { syn: true } }));
    dp.runTc(fromLocalPod(40011, { rst: true, ack: true }));
    t.is(at(40011), 'none', 'RST: gone');
    t.deepEqual([dp.stat('FLOW_PROMOTED'), dp.stat('FLOW_CLOSED')], [1n, 2n]);
  });
}

test('DSR mode: an affinity service\'s flow stays unconfirmed (this node never sees the pod\'s replies)', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: POD_PORT, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11], flags: DSRLB_SVC_F_AFFINITY, affinityTimeout: 300 });
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  for (let i = 0; i < 3; i++) t.is(dp.runXdp(clientTcp({ flags: { ack: true } })).retval, XdpAction.TX);
  t.like(dp.maps.flowsNew.lookup(clientKey(40000)), { ...flowEntry(11), state: 2 });
  t.deepEqual([dp.maps.flows.entries(), dp.maps.snat.entries(), dp.maps.snatNew.entries()], [[], [], []]);
});

test.serial('SNAT mode: a flood four times the unconfirmed table (SYNs, and SYN then ACK) leaves 50 established connections whole', (t) => {
  const dp = snatNode(t);
  const quiet = Array.from({ length: 50 }, (_, i) => 30000 + i);
  for (const p of quiet) connect(dp, p);
  t.deepEqual(quiet.filter((p) => tables(dp, p).flow !== 'established' || tables(dp, p).reply !== 'established'), []);
  const established = { flows: dp.maps.flows.entries().length, snat: dp.maps.snat.entries().length };
  t.deepEqual(established, { flows: 50, snat: 100 });

  // Half the tuples a SYN alone, half a SYN then a forged ACK, from spoofed clients.
  const flood = DSRLB_MAX_FLOWS_NEW * 4;
  for (let i = 0; i < flood; i++) {
    const src = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
    const sport = 1024 + (i % 60000);
    dp.runXdp(clientTcp({ sport, flags: { syn: true } }, { src }));
    if (i % 2) dp.runXdp(clientTcp({ sport, flags: { ack: true } }, { src }));
  }
  const unconfirmed = dp.maps.flowsNew.entries().length;
  t.log({ flood, unconfirmed, snatUnconfirmed: dp.maps.snatNew.entries().length });
  t.true(unconfirmed <= DSRLB_MAX_FLOWS_NEW && unconfirmed > DSRLB_MAX_FLOWS_NEW / 2, 'the flood fills its own table');
  t.deepEqual({ flows: dp.maps.flows.entries().length, snat: dp.maps.snat.entries().length }, established, 'and nothing else');
  t.is(dp.stat('FLOW_PROMOTED'), 50n);

  // Every quiet connection is whole: its next packets each way are translated on its own port.
  for (const p of quiet) {
    const fwd = dp.runXdp(clientTcp({ sport: p, flags: { ack: true } }));
    t.is(fwd.retval, XdpAction.TX);
    t.is(decodeFrame(fwd.out).geneve?.inner.tcp?.sport, snatPort(p), 'it leaves on its own SNAT port');
    t.deepEqual(dp.runXdp(fromPod(snatPort(p), { ack: true })).out, toClient(p, { ack: true }));
  }
  t.deepEqual(quiet.filter((p) => JSON.stringify(tables(dp, p)) !== JSON.stringify(ALL('established'))), []);
});
