/**
 * Backend node ingress (docs/design.md §1.3): dsrlb's Geneve from a known node,
 * for a frontend this node has and a local backend of it, is stripped to the
 * inner frame, addressed to this NIC, handed to the stack, and its DSR
 * option becomes reverse-NAT state. Anything else of dsrlb's is dropped and
 * counted, never half-decapsulated (geneve-verify.test.ts: what is not
 * dsrlb's, and forgeries).
 */
import test from 'ava';
import { buildFrame, buildGeneveFrame, dsrOption, macToBytes, snatOption, type GeneveSpec } from '../../src/packet/index.js';
import { Addr, Datapath, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

/** This node as a backend node: VIP:80 is a frontend, Addr.pod:8080 a backend of it here. */
function backendNode(t: Parameters<typeof Datapath.open>[0]): Datapath {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 1, backends: [11] });
  return dp;
}

/** The client's packet as the LB node DNATed it. */
function innerTcp(ack = false): Buffer {
  return buildFrame({
    eth: { src: Mac.router, dst: '02:00:00:00:00:99' },
    ip: { src: Addr.client, dst: Addr.pod, id: 7 },
    tcp: { sport: 40000, dport: 8080, flags: ack ? { ack: true } : { syn: true }, payload: ack ? Buffer.from('data') : undefined },
  });
}

function fromNode(inner: Buffer, geneve: GeneveSpec, src: string = Addr.backendNode): Buffer {
  return buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src, dst: Addr.lbNode, ttl: 64 },
    sport: 51234,
    geneve,
    inner,
  });
}

const dsr = { options: [dsrOption(Addr.vip, 80)] };
const replyKey = { saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 };

test('Geneve from a known node is decapsulated, addressed to this NIC and passed to the stack with a reverse-NAT entry', (t) => {
  const dp = backendNode(t);
  const inner = innerTcp();

  const r = dp.runXdp(fromNode(inner, dsr));

  t.is(r.retval, XdpAction.PASS);
  const expected = Buffer.from(inner);
  macToBytes(Mac.nic).copy(expected, 0);
  macToBytes(Mac.backendNode).copy(expected, 6);
  t.deepEqual(r.out, expected);
  t.deepEqual(dp.maps.dsrRevnatNew.lookup(replyKey), { address: Addr.vip, port: 80 });
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 1 });
});

test('the option on a later packet rebuilds reverse-NAT state that was lost', (t) => {
  const dp = backendNode(t);
  dp.runXdp(fromNode(innerTcp(), dsr));
  dp.maps.dsrRevnatNew.delete(replyKey);

  t.is(dp.runXdp(fromNode(innerTcp(true), dsr)).retval, XdpAction.PASS);
  t.deepEqual(dp.maps.dsrRevnatNew.lookup(replyKey), { address: Addr.vip, port: 80 });
});

test('Geneve with the SNAT marker instead of the DSR option is decapsulated without reverse-NAT state', (t) => {
  const dp = backendNode(t);
  const r = dp.runXdp(fromNode(innerTcp(), { options: [snatOption(Addr.vip, 80)] }));
  t.is(r.retval, XdpAction.PASS);
  t.is(r.out.length, innerTcp().length);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 1 });
});

test('a frame carrying both a DSR option and a SNAT marker is dropped', (t) => {
  const dp = backendNode(t);
  const both = { options: [dsrOption(Addr.vip, 80), snatOption(Addr.vip, 80)] };
  t.is(dp.runXdp(fromNode(innerTcp(), both)).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { DROP_GENEVE_BAD_OPTION: 1 });
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
});

test('Geneve from an address that is not a node is dropped and counted', (t) => {
  const dp = backendNode(t);
  t.is(dp.runXdp(fromNode(innerTcp(), dsr, Addr.stranger)).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { DROP_GENEVE_UNKNOWN_NODE: 1 });
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
});

test('an unknown critical option is dropped; an unknown non-critical one is skipped', (t) => {
  const dp = backendNode(t);
  const unknownCritical = { options: [{ optClass: 0x0105, type: 0x80, data: Buffer.alloc(4) }, dsrOption(Addr.vip, 80)] };
  t.is(dp.runXdp(fromNode(innerTcp(), unknownCritical)).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_GENEVE_BAD_OPTION'), 1n);

  const unknownPlain = { options: [{ optClass: 0x0105, type: 0x01, data: Buffer.alloc(4) }, dsrOption(Addr.vip, 80)] };
  t.is(dp.runXdp(fromNode(innerTcp(), unknownPlain)).retval, XdpAction.PASS);
  t.deepEqual(dp.maps.dsrRevnatNew.lookup(replyKey), { address: Addr.vip, port: 80 });
});

test('a DSR option that is too short or too long is dropped', (t) => {
  const dp = backendNode(t);
  const short = { options: [{ optClass: 0x014b, type: 0x81, data: Buffer.from('cb00710a', 'hex') }] };
  const long = { options: [{ optClass: 0x014b, type: 0x81, data: Buffer.from('cb00710a005000000000000000', 'hex') }] };
  t.is(dp.runXdp(fromNode(innerTcp(), short)).retval, XdpAction.DROP);
  t.is(dp.runXdp(fromNode(innerTcp(), long)).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_GENEVE_BAD_OPTION'), 2n);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
});

test('an option length running past the options area is dropped', (t) => {
  const dp = backendNode(t);
  const overrun = { options: [{ ...dsrOption(Addr.vip, 80), lengthWords: 7 }] };
  t.is(dp.runXdp(fromNode(innerTcp(), overrun)).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_GENEVE_BAD_OPTION'), 1n);
});

test('dsrlb\'s option with an OAM flag or a payload protocol dsrlb does not speak is dropped', (t) => {
  const dp = backendNode(t);
  for (const geneve of [{ ...dsr, oam: true }, { ...dsr, protocol: 0x0800 }]) {
    t.is(dp.runXdp(fromNode(innerTcp(), geneve)).retval, XdpAction.DROP);
  }
  t.deepEqual(dp.nonZeroStats(), { DROP_GENEVE_BAD_INNER: 2 });
});

test('another Geneve version is not dsrlb\'s: passed untouched', (t) => {
  const dp = backendNode(t);
  const frame = fromNode(innerTcp(), { ...dsr, version: 1 });
  const r = dp.runXdp(frame);
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, frame);
  t.deepEqual(dp.nonZeroStats(), { PASS_GENEVE_FOREIGN: 1 });
});

test('an inner frame that is not IPv4 TCP/UDP, or reaches past the outer datagram, is dropped', (t) => {
  const dp = backendNode(t);
  const arp = buildFrame({ eth: { etherType: 0x0806 }, ip: { src: Addr.client, dst: Addr.pod }, raw: Buffer.alloc(8) });
  t.is(dp.runXdp(fromNode(arp, dsr)).retval, XdpAction.DROP);
  const cut = innerTcp().subarray(0, 50);
  t.is(dp.runXdp(fromNode(cut, dsr)).retval, XdpAction.DROP);
  // The inner datagram claims more than the outer UDP datagram holds (the rest is frame padding).
  const padded = Buffer.concat([fromNode(cut, dsr), innerTcp().subarray(50)]);
  t.is(dp.runXdp(padded).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_GENEVE_BAD_INNER'), 3n);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
});

test('Geneve to another address or port is not ours to decapsulate', (t) => {
  const dp = backendNode(t);
  const other = buildGeneveFrame({ eth: { dst: Mac.nic }, outer: { src: Addr.backendNode, dst: '198.51.100.9' }, sport: 1, geneve: dsr, inner: innerTcp() });
  const r = dp.runXdp(other);
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, other);
  t.deepEqual(dp.nonZeroStats(), { PASS_NOT_SERVICE: 1 });
});
