/**
 * Malformed input is passed untouched or dropped, never forwarded wrongly:
 * frames cut at every length, IPv4 options, fragments, bad IHL, version and
 * lengths, bad TCP data offsets and UDP lengths.
 */
import test from 'ava';
import { buildFrame, buildGeneveFrame, decodeFrame, dsrOption, mssOption } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, TcAction, XdpAction } from '../helpers/datapath.js';

function services(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod, port: 5353, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [12], port: 53, proto: Proto.UDP });
}

const geneveIn = buildGeneveFrame({
  eth: { src: Mac.backendNode, dst: Mac.nic },
  outer: { src: Addr.backendNode, dst: Addr.lbNode },
  sport: 50000,
  geneve: { options: [dsrOption(Addr.vip, 80)] },
  inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40000, dport: 8080, flags: { syn: true } } }),
});

const wholeFrames: Record<string, Buffer> = {
  'TCP SYN to the VIP': clientTcp({ flags: { syn: true }, options: mssOption(1460) }),
  'TCP data to the VIP': clientTcp({ flags: { ack: true }, payload: Buffer.from('0123456789') }),
  'UDP to the VIP': clientUdp(),
  'Geneve with the DSR option': geneveIn,
};

test('every frame cut short at every length is passed untouched or dropped, and leaves no state', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  for (const [name, frame] of Object.entries(wholeFrames)) {
    // BPF_PROG_RUN needs at least an Ethernet header.
    for (let len = 14; len < frame.length; len++) {
      const cut = Buffer.from(frame.subarray(0, len));
      const r = dp.runXdp(cut);
      t.true(r.retval === XdpAction.PASS || r.retval === XdpAction.DROP, `${name} cut at ${len}: verdict ${r.retval}`);
      if (r.retval === XdpAction.PASS) t.deepEqual(r.out, cut, `${name} cut at ${len} passed modified`);
    }
  }
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
  t.is(dp.stat('TX_ENCAP') + dp.stat('PASS_DECAP'), 0n);
});

test('a reply cut short at every length leaves tc egress untouched', (t) => {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, serviceId: 1 });
  const reply = buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client }, tcp: { sport: 8080, dport: 40000, flags: { syn: true, ack: true }, options: mssOption(1460) } });
  // The kernel refuses to test-run an IPv4 skb shorter than Ethernet + IPv4 headers (EINVAL).
  for (let len = 14 + 20; len < reply.length; len++) {
    const cut = Buffer.from(reply.subarray(0, len));
    const r = dp.runTc(cut);
    t.is(r.retval, TcAction.UNSPEC);
    t.deepEqual(r.out, cut, `cut at ${len}`);
  }
  t.is(dp.stat('REVNAT_REWRITE'), 0n);
});

test('IPv4 options are honoured: the header length is read from IHL and the options travel intact', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  const options = Buffer.from([0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01]); // record route, one slot, NOP
  const r = dp.runXdp(clientTcp({ flags: { syn: true } }, { options }));
  t.is(r.retval, XdpAction.TX);
  const inner = decodeFrame(r.out).geneve?.inner;
  t.like(inner?.ip, { ihl: 7, dst: Addr.pod, checksumValid: true });
  t.deepEqual(inner?.ip?.options, options);
  t.like(inner?.tcp, { dport: 8080, checksumValid: true });
});

test('fragments, first or not, are left to the stack untouched; a first fragment to a frontend is counted apart', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  const first = clientUdp({}, { mf: true, df: false });
  const firstToNoFrontend = clientUdp({ dport: 5353 }, { mf: true, df: false });
  const later = buildFrame({ eth: { src: Mac.router, dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.vip, protocol: Proto.UDP, fragmentOffset: 185, df: false }, raw: Buffer.alloc(40, 7) });
  for (const f of [first, firstToNoFrontend, later]) {
    const r = dp.runXdp(f);
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, f);
  }
  t.deepEqual(dp.nonZeroStats(), { PASS_FRAGMENT_FRONTEND: 1, PASS_FRAGMENT: 2 });
});

test('a bad IHL, version or total length is dropped and counted', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  const cases = [
    clientTcp({ flags: { syn: true } }, { ihl: 4 }),
    clientTcp({ flags: { syn: true } }, { ihl: 0 }),
    clientTcp({ flags: { syn: true } }, { version: 6 }),
    clientTcp({ flags: { syn: true } }, { totalLength: 19 }),
    clientTcp({ flags: { syn: true } }, { ihl: 15 }),
  ];
  for (const f of cases) t.is(dp.runXdp(f).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { DROP_BAD_HEADER: 5 });
});

test('a total length beyond the frame is dropped as truncated', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } }, { totalLength: 1000 })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { DROP_TRUNCATED: 1 });
});

test('a bad TCP data offset or UDP length is passed to the stack untouched', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  const cases = [
    clientTcp({ flags: { syn: true }, dataOffset: 4 }),
    clientTcp({ flags: { syn: true }, dataOffset: 15 }),
    clientUdp({ length: 7 }),
    clientUdp({ length: 200 }),
  ];
  for (const f of cases) {
    const r = dp.runXdp(f);
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, f);
  }
  t.deepEqual(dp.nonZeroStats(), { PASS_BAD_L4: 4 });
});

test('non-IPv4 and non-TCP/UDP traffic is passed untouched', (t) => {
  const dp = Datapath.open(t);
  services(dp);
  const arp = buildFrame({ eth: { etherType: 0x0806 }, ip: { src: Addr.client, dst: Addr.vip }, raw: Buffer.alloc(8) });
  const icmp = buildFrame({ eth: { dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.vip }, icmp: { type: 8, code: 0, rest: 0x00010001 } });
  for (const f of [arp, icmp]) t.deepEqual(dp.runXdp(f).out, f);
  t.deepEqual(dp.nonZeroStats(), { PASS_NOT_IPV4: 1, PASS_OTHER_PROTO: 1 });
});
