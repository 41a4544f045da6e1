/**
 * DSR to a backend on another node (docs/design.md §1.2): the client's packet is
 * DNATed to the pod and leaves Geneve-encapsulated for the backend's node,
 * the DSR option on every packet. The expected frame is built independently
 * in TypeScript and compared byte for byte, so every checksum is checked.
 */
import test from 'ava';
import {
  buildFrame, buildGeneveFrame, decodeFrame, dsrOption, geneveSourcePort, mssOption,
} from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, flowEntry, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

const tuple = { src: Addr.client, dst: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP };

function remoteService(dp: Datapath, proto: number = Proto.TCP, port = 80): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto });
  dp.setService({ serviceId: 1, backends: [11], proto, port });
}

/** What the LB node must send for `inner` (the client's frame after DNAT). */
function encapsulated(inner: Buffer, sport: number, frontendPort = 80): Buffer {
  return buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport,
    geneve: { options: [dsrOption(Addr.vip, frontendPort)] },
    inner,
  });
}

test('a SYN to a remote backend leaves encapsulated to its node with the DSR option and the inner packet DNATed', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  const syn = { flags: { syn: true }, options: mssOption(1460), seq: 0xfffffff0 };

  const r = dp.runXdp(clientTcp(syn));

  t.is(r.retval, XdpAction.TX);
  const expectedInner = buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.pod, id: 0x1234 },
    tcp: { sport: 40000, dport: 8080, ...syn },
  });
  t.deepEqual(r.out, encapsulated(expectedInner, geneveSourcePort(tuple)));

  const f = decodeFrame(r.out);
  t.like(f.eth, { src: Mac.nic, dst: Mac.backendNode });
  t.like(f.ip, { src: Addr.lbNode, dst: Addr.backendNode, df: true, ttl: 64, totalLength: 44 + 62, checksumValid: true });
  t.like(f.udp, { dport: 6081, length: 44 + 62 - 20, checksum: 0 });
  t.true((f.udp?.sport ?? 0) >= 49152);
  t.like(f.geneve, { version: 0, critical: true, oam: false, protocol: 0x6558, headerLength: 20 });
  t.is(f.geneve?.options.length, 1);
  t.like(f.geneve?.options[0], { optClass: 0x014b, type: 0x81, lengthWords: 2 });
  t.is(f.geneve?.options[0]?.data.toString('hex'), 'cb00710a00500000');
  t.like(f.geneve?.inner.ip, { src: Addr.client, dst: Addr.pod, checksumValid: true });
  t.like(f.geneve?.inner.tcp, { sport: 40000, dport: 8080, mss: 1460, checksumValid: true });

  // The stateless LB node: a DSR flow leaves no state here.
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_ENCAP: 1 });
});

test('every later packet of the flow carries the DSR option and the same outer source port', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  const ack = { flags: { ack: true, psh: true }, seq: 1001, ack: 77, payload: Buffer.from('GET / HTTP/1.1\r\n\r\n') };

  const r = dp.runXdp(clientTcp(ack));

  t.is(r.retval, XdpAction.TX);
  const expectedInner = buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.pod, id: 0x1234 },
    tcp: { sport: 40000, dport: 8080, ...ack },
  });
  t.deepEqual(r.out, encapsulated(expectedInner, geneveSourcePort(tuple)));
  t.is(dp.stat('TX_ENCAP'), 2n);
});

test('UDP is DNATed with its checksum updated, and a zero UDP checksum stays zero', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp, Proto.UDP, 53);
  const utuple = { ...tuple, dport: 53, proto: Proto.UDP };

  const withSum = dp.runXdp(clientUdp());
  const expected = buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.pod, id: 0x1234 },
    udp: { sport: 40000, dport: 8080, payload: Buffer.from('query') },
  });
  t.is(withSum.retval, XdpAction.TX);
  t.deepEqual(withSum.out, encapsulated(expected, geneveSourcePort(utuple), 53));

  const noSum = dp.runXdp(clientUdp({ checksum: 'none' }));
  const expectedNoSum = buildFrame({
    eth: { src: Mac.router, dst: Mac.nic },
    ip: { src: Addr.client, dst: Addr.pod, id: 0x1234 },
    udp: { sport: 40000, dport: 8080, payload: Buffer.from('query'), checksum: 'none' },
  });
  t.deepEqual(noSum.out, encapsulated(expectedNoSum, geneveSourcePort(utuple), 53));
});

test('a failed route lookup to the backend node passes the packet to the stack untouched and counts it', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.unroutable });
  dp.setService({ serviceId: 1, backends: [11] });
  const frame = clientTcp({ flags: { syn: true } });

  const r = dp.runXdp(frame);

  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, frame);
  t.is(dp.stat('PASS_FIB_FAILED'), 1n);
});

test('a backend whose node has no entry is dropped and counted', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: 42 });
  dp.setService({ serviceId: 1, backends: [11] });

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_NO_NODE'), 1n);
});

test('a packet to no frontend is passed untouched and counted', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  const frame = clientTcp({ flags: { syn: true } }, { dst: '203.0.113.99' });

  const r = dp.runXdp(frame);

  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, frame);
  t.deepEqual(dp.nonZeroStats(), { PASS_NOT_SERVICE: 1 });
});
