/**
 * The stateless LB node and the rescue on the backend node (docs/datapath.md,
 * "Stateless LB node"), on the real program: DSR flows write no lb4_flows
 * entry; a packet whose slot held another backend in the previous table
 * carries it as a second chance (Geneve option type 0x03), never on a SYN;
 * the backend node forwards a flow it does not know to the second chance's
 * node with the DSR option alone (so it can never be forwarded again),
 * after checking it against its own tables; everything else is delivered as
 * before, and every outcome is counted.
 */
import test from 'ava';
import {
  buildFrame, buildGeneveFrame, decodeFrame, dsrOption, geneveSourcePort, macToBytes, secondChanceOption, type GeneveOption,
} from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, SvcFlag, XdpAction } from '../helpers/datapath.js';

const SIZE = 251;
const all = (id: number): number[] => Array.from({ length: SIZE }, () => id);
const tuple = { src: Addr.client, dst: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP };

/** LB node: the current table sends everything to 11 (Addr.pod, backend node), the previous one to 12 (Addr.pod2, other node). */
function movedSlots(dp: Datapath, proto: number = Proto.TCP): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other, proto });
  dp.setService({ serviceId: 1, backends: [11], proto });
  dp.setPrevMaglev(1, all(12));
}

test('DSR flows write no flow state on the LB node: SYN, data, UDP', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 21, address: Addr.pod, port: 5353, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [21], proto: Proto.UDP, port: 53 });
  for (let sport = 40000; sport < 40020; sport++) {
    t.is(dp.runXdp(clientTcp({ sport, flags: { syn: true } })).retval, XdpAction.TX);
    t.is(dp.runXdp(clientTcp({ sport, flags: { ack: true }, payload: Buffer.from('x') })).retval, XdpAction.TX);
    t.is(dp.runXdp(clientUdp({ sport, dport: 53 })).retval, XdpAction.TX);
  }
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
  t.deepEqual(dp.maps.affinity.entries(), []);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 60, TX_ENCAP: 60 });
});

test('a data segment whose slot moved carries the previous backend as a second chance, byte by byte', (t) => {
  const dp = Datapath.open(t);
  movedSlots(dp);
  const seg = { flags: { ack: true }, seq: 1001, ack: 5001, payload: Buffer.from('hello') };
  const r = dp.runXdp(clientTcp(seg));

  t.is(r.retval, XdpAction.TX);
  const inner = buildFrame({ eth: { src: Mac.router, dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.pod, id: 0x1234 }, tcp: { sport: 40000, dport: 8080, ...seg } });
  t.deepEqual(r.out, buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport: geneveSourcePort(tuple),
    geneve: { options: [dsrOption(Addr.vip, 80), secondChanceOption(Addr.pod2, 8080)] },
    inner,
  }));
  const f = decodeFrame(r.out);
  t.like(f.ip, { totalLength: inner.length - 14 + 74, checksumValid: true });
  t.like(f.geneve, { critical: true, headerLength: 8 + 24 });
  t.like(f.geneve?.options[1], { optClass: 0x014b, type: 0x03, critical: false, lengthWords: 2 });
  // 198.18.2.6, port 8080, u16 zero
  t.is(f.geneve?.options[1]?.data.toString('hex'), 'c61202061f900000');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, SECOND_CHANCE: 1, TX_ENCAP: 1 });
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('only a slot with the moved mark looks the previous table up: without it, no second chance (nor its cost)', (t) => {
  const dp = Datapath.open(t);
  movedSlots(dp);
  const options = (frame: Buffer): number => decodeFrame(frame).geneve?.options.length ?? 0;
  t.is(options(dp.runXdp(clientTcp({ flags: { ack: true } })).out), 2, 'marked: the second chance');
  dp.setMaglevUnmarked(1, all(11));
  t.is(options(dp.runXdp(clientTcp({ flags: { ack: true } })).out), 1, 'unmarked: the previous table is not read');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 2, SECOND_CHANCE: 1, TX_ENCAP: 2 });
});

test('no second chance on a SYN, where both tables agree, or when the previous backend is gone', (t) => {
  const dp = Datapath.open(t);
  movedSlots(dp);
  const options = (frame: Buffer): number => decodeFrame(frame).geneve?.options.length ?? 0;
  t.is(options(dp.runXdp(clientTcp({ flags: { syn: true } })).out), 1, 'SYN');
  dp.removeBackend(12);
  t.is(options(dp.runXdp(clientTcp({ flags: { ack: true } })).out), 1, 'freed backend');
  dp.setPrevMaglev(1, all(11));
  t.is(options(dp.runXdp(clientTcp({ flags: { ack: true } })).out), 1, 'same backend');
  dp.maps.maglevPrevSize.update(1, 0);
  dp.setPrevMaglev(1, all(12));
  dp.maps.maglevPrevSize.update(1, 0);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  t.is(options(dp.runXdp(clientTcp({ flags: { ack: true } })).out), 1, 'a previous table without its size is not used');
  t.is(dp.stat('SECOND_CHANCE'), 0n);
});

test('UDP has no SYN: every datagram whose slot moved carries the second chance', (t) => {
  const dp = Datapath.open(t);
  movedSlots(dp, Proto.UDP);
  const r = dp.runXdp(clientUdp({ dport: 80 }));
  t.is(decodeFrame(r.out).geneve?.options[1]?.data.toString('hex'), 'c61202061f900000');
  t.is(dp.stat('SECOND_CHANCE'), 1n);
});

test('UDP never gets a terminating backend as its second chance: new UDP flows cannot be told from old ones', (t) => {
  const dp = Datapath.open(t);
  movedSlots(dp, Proto.UDP);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other, proto: Proto.UDP, terminating: true });
  t.is(decodeFrame(dp.runXdp(clientUdp({ dport: 80 })).out).geneve?.options.length, 1);
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, proto: Proto.UDP, flags: SvcFlag.NOEP_DROP });
  t.is(dp.runXdp(clientUdp({ dport: 80 })).retval, XdpAction.DROP, 'no endpoints: UDP is not carried on to the previous table');
  t.is(dp.stat('SECOND_CHANCE'), 0n);
});

test('a packet that fits only without the second chance is sent without it, counted', (t) => {
  const dp = Datapath.open(t, { mtu: 1500 });
  movedSlots(dp);
  // 1430 + 62 fits 1500, 1430 + 74 does not.
  const payload = Buffer.alloc(1430 - 20 - 20, 7);
  const r = dp.runXdp(clientTcp({ flags: { ack: true }, payload }, { df: true }));
  t.is(r.retval, XdpAction.TX);
  t.is(decodeFrame(r.out).geneve?.options.length, 1);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, SECOND_CHANCE_TOO_BIG: 1, TX_ENCAP: 1 });
});

test('ClientIP affinity keeps its flow state and carries no second chance', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11], flags: SvcFlag.AFFINITY, affinityTimeout: 60 });
  dp.setPrevMaglev(1, all(12));
  t.is(decodeFrame(dp.runXdp(clientTcp({ flags: { syn: true } })).out).geneve?.options.length, 1);
  t.is(decodeFrame(dp.runXdp(clientTcp({ flags: { ack: true } })).out).geneve?.options.length, 1);
  t.is(dp.maps.flowsNew.entries().length, 1, 'unconfirmed: this node never sees the replies');
  t.is(dp.maps.affinity.entries().length, 1);
});

test('the LB node is the current backend\'s node: a flow it does not know goes to the second chance, one it knows stays', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setPrevMaglev(1, all(12));

  const unknown = dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.is(unknown.retval, XdpAction.TX);
  const f = decodeFrame(unknown.out);
  t.like(f.ip, { dst: Addr.otherNode });
  t.is(f.geneve?.options.length, 1, 'DSR option only');
  t.like(f.geneve?.inner.ip, { dst: Addr.pod2, checksumValid: true });
  t.deepEqual([...dp.maps.dsrRevnat.entries(), ...dp.maps.dsrRevnatNew.entries()], []);

  const syn = dp.runXdp(clientTcp({ sport: 40001, flags: { syn: true } }));
  t.is(syn.retval, XdpAction.PASS, 'a SYN is delivered here');
  t.is(dp.runXdp(clientTcp({ sport: 40001, flags: { ack: true } })).retval, XdpAction.PASS, 'and its flow stays here');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 3, TX_RESCUE: 1, TX_ENCAP: 1, PASS_LOCAL: 2 });
});

// ---- the backend node ----------------------------------------------------------------

/**
 * This node as a backend node: VIP:80 has Addr.pod (11) here in its current
 * table, Addr.pod2 (12, on NodeId.other) in its previous one.
 */
function backendNode(t: Parameters<typeof Datapath.open>[0], proto: number = Proto.TCP): Datapath {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.lb, proto });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other, proto });
  dp.setService({ serviceId: 1, backends: [11], proto });
  dp.setPrevMaglev(1, all(12));
  return dp;
}

const innerEth = { src: Mac.router, dst: '02:00:00:00:00:99' };

function innerTcp(dst: string, flags: { syn?: boolean; ack?: boolean }, sport = 40000): Buffer {
  return buildFrame({ eth: innerEth, ip: { src: Addr.client, dst, id: 7 }, tcp: { sport, dport: 8080, seq: 1, ack: 2, flags, payload: Buffer.from('data') } });
}

function fromLbNode(inner: Buffer, options: GeneveOption[], dst: string = Addr.lbNode): Buffer {
  return buildGeneveFrame({ eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst, ttl: 64 }, sport: 51234, geneve: { options }, inner });
}

const withSecond = [dsrOption(Addr.vip, 80), secondChanceOption(Addr.pod2, 8080)];
const replyKey = { saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 };

test('rescue: a flow this node does not know goes on to the second chance\'s node, DSR option only, byte by byte', (t) => {
  const dp = backendNode(t);
  const r = dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }), withSecond));

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out, buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.otherNode },
    outer: { src: Addr.lbNode, dst: Addr.otherNode, ttl: 64, id: 0, df: true },
    sport: 51234,
    geneve: { options: [dsrOption(Addr.vip, 80)] },
    inner: innerTcp(Addr.pod2, { ack: true }),
  }));
  t.deepEqual([...dp.maps.dsrRevnat.entries(), ...dp.maps.dsrRevnatNew.entries()], [], 'nothing recorded for a flow that is not served here');
  t.deepEqual(dp.nonZeroStats(), { TX_RESCUE: 1 });
});

test('loop prevention: what a rescue sends carries no second chance, and the node it reaches delivers it', (t) => {
  const dp = backendNode(t);
  const rescued = dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }), withSecond)).out;
  const inner = rescued.subarray(14 + 20 + 8 + 8 + 12);
  t.deepEqual(decodeFrame(rescued).geneve?.options.map((o) => o.type), [0x81]);

  // The same packet arriving at pod2's node (here: pod2 made a local backend), which does not know the flow either.
  dp.addLocalBackend({ address: Addr.pod2, port: 8080, serviceId: 1, backendId: 12 });
  const r = dp.runXdp(fromLbNode(Buffer.from(inner), [dsrOption(Addr.vip, 80)]));
  t.is(r.retval, XdpAction.PASS);
  t.like(decodeFrame(r.out).ip, { dst: Addr.pod2 });
  t.deepEqual(dp.nonZeroStats(), { TX_RESCUE: 1, PASS_DECAP: 1 });
});

test('a flow this node knows, a SYN, or a packet without the option is delivered here as before', (t) => {
  const dp = backendNode(t);
  t.is(dp.runXdp(fromLbNode(innerTcp(Addr.pod, { syn: true }), withSecond)).retval, XdpAction.PASS, 'SYN');
  t.truthy(dp.maps.dsrRevnatNew.lookup(replyKey), 'the SYN made the flow known (unconfirmed until the pod answers)');
  t.is(dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }), withSecond)).retval, XdpAction.PASS, 'known flow');
  t.is(dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }, 40001), [dsrOption(Addr.vip, 80)])).retval, XdpAction.PASS, 'no option');
  t.deepEqual(dp.nonZeroStats(), { RESCUE_SYN: 1, RESCUE_KNOWN: 1, PASS_DECAP: 3 });
});

test('a second chance this node\'s tables do not give for the flow is ignored and counted: the packet is delivered', (t) => {
  const dp = backendNode(t);
  dp.addBackend({ id: 13, address: '198.18.2.7', port: 8080, nodeId: NodeId.other });
  const forgeries = [secondChanceOption('198.18.2.7', 8080), secondChanceOption(Addr.pod2, 9999), secondChanceOption(Addr.client, 22)];
  forgeries.forEach((forged, i) => {
    // Each its own flow: a delivered packet makes its flow known here.
    t.is(dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }, 40100 + i), [dsrOption(Addr.vip, 80), forged])).retval, XdpAction.PASS);
  });
  t.deepEqual(dp.nonZeroStats(), { RESCUE_MISMATCH: 3, PASS_DECAP: 3 });
});

test('malformed or misplaced second-chance options are dropped and counted, nothing written', (t) => {
  const dp = backendNode(t);
  const sc = secondChanceOption(Addr.pod2, 8080);
  const bad: GeneveOption[][] = [
    [dsrOption(Addr.vip, 80), sc, sc], // twice
    [sc], // without the DSR option
    [{ ...dsrOption(Addr.vip, 80), type: 0x82 }, sc], // beside the SNAT marker
    [dsrOption(Addr.vip, 80), { ...sc, data: Buffer.alloc(12) }], // wrong length
    [dsrOption(Addr.vip, 80), secondChanceOption('0.0.0.0', 8080)], // no backend
  ];
  for (const options of bad) t.is(dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }), options)).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { DROP_GENEVE_BAD_OPTION: bad.length });
  t.deepEqual([...dp.maps.dsrRevnat.entries(), ...dp.maps.dsrRevnatNew.entries()], []);
});

test('a second chance on this node: the packet is DNATed to that backend and delivered here', (t) => {
  const dp = backendNode(t);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.lb });
  dp.addLocalBackend({ address: Addr.pod2, port: 8080, serviceId: 1, backendId: 12 });
  const r = dp.runXdp(fromLbNode(innerTcp(Addr.pod, { ack: true }), withSecond));
  t.is(r.retval, XdpAction.PASS);
  const expected = innerTcp(Addr.pod2, { ack: true });
  macToBytes(Mac.nic).copy(expected, 0);
  macToBytes(Mac.backendNode).copy(expected, 6);
  t.deepEqual(r.out, expected);
  t.truthy(dp.maps.dsrRevnatNew.lookup({ ...replyKey, saddr: Addr.pod2 }), 'the rescued flow is known here (unconfirmed)');
  t.deepEqual(dp.nonZeroStats(), { RESCUE_LOCAL: 1, PASS_DECAP: 1 });
});

test('UDP: a datagram of a flow this node does not know, with a second chance, is rescued', (t) => {
  const dp = backendNode(t, Proto.UDP);
  const udp = (dst: string): Buffer => buildFrame({ eth: innerEth, ip: { src: Addr.client, dst, id: 7 }, udp: { sport: 40000, dport: 8080, payload: Buffer.from('q') } });
  const r = dp.runXdp(fromLbNode(udp(Addr.pod), withSecond));
  t.is(r.retval, XdpAction.TX);
  t.deepEqual(r.out.subarray(14 + 20 + 8 + 8 + 12), udp(Addr.pod2), 'DNATed to pod2, checksums as if built so');
  t.is(dp.stat('TX_RESCUE'), 1n);
});
