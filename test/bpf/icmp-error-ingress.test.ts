/**
 * ICMP errors about a flow arriving at a node (bpf/lib/icmp_forward.h): an
 * error about a reply (quoting frontend -> client) is translated to quote
 * what the pod sent and goes to the pod, on this node or Geneve-encapsulated
 * to its node, which decapsulates it; in SNAT mode a pod's error about a
 * packet from node:port goes to the client as the frontend's. Expected
 * frames are built from scratch with src/packet: the byte comparison checks
 * every checksum (outer IPv4, ICMP, quoted IPv4, quoted L4) independently.
 */
import test from 'ava';
import {
  buildFrame, buildGeneveFrame, buildIcmpError, decodeFrame, decodeIcmpQuote, dsrOption, flowHash, geneveSourcePort,
  IcmpErrorCodes, IcmpType, IcmpUnreachCode, macToBytes,
} from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, SvcFlag, XdpAction } from '../helpers/datapath.js';

const ROUTER = '198.51.100.254';
const SNAT_MIN = 61000;
const SNAT_RANGE = 65535 - SNAT_MIN + 1;

/** A reply of the flow client:40000 -> VIP:port, as it left `src`:`sport`. */
function reply(src: string, sport: number, proto: number, dst: string = Addr.client, dport = 40000): Buffer {
  const l4 = proto === Proto.UDP
    ? { udp: { sport, dport, payload: Buffer.alloc(1200, 0x61) } }
    : { tcp: { sport, dport, seq: 5000, ack: 1001, flags: { ack: true }, payload: Buffer.alloc(1400, 0x62) } };
  return buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src, dst, id: 0x5151, ttl: 60 }, ...l4 });
}

interface ErrorSpec { type: number; code: number; from?: string; to?: string; l4Bytes?: number }

/** The error a router (or the client) sends about `about`. */
function errorAbout(about: Buffer, e: ErrorSpec, eth: { src: string; dst: string } = { src: Mac.router, dst: Mac.nic }): Buffer {
  const mtu = e.type === IcmpType.DEST_UNREACH && e.code === IcmpUnreachCode.FRAG_NEEDED ? 1400 : 0;
  return buildIcmpError({ eth, ip: { src: e.from ?? ROUTER, dst: e.to ?? Addr.vip, id: 3, ttl: 250 }, type: e.type, code: e.code, mtu, about, l4Bytes: e.l4Bytes ?? 28 });
}

function toNode(inner: Buffer, proto: number, dport = 80): Buffer {
  return buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport: geneveSourcePort({ src: Addr.client, dst: Addr.vip, sport: 40000, dport, proto }),
    inner,
  });
}

function remoteService(dp: Datapath, proto: number): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto });
  dp.setService({ serviceId: 1, backends: [11], proto });
}

for (const type of [IcmpType.DEST_UNREACH, IcmpType.TIME_EXCEEDED, IcmpType.PARAMETER_PROBLEM]) {
  for (const proto of [Proto.TCP, Proto.UDP]) {
    test(`ICMP type ${type}, every code, ${proto === Proto.TCP ? 'TCP' : 'UDP'}: an error about a reply goes to the remote pod quoting pod -> client`, (t) => {
      const dp = Datapath.open(t);
      remoteService(dp, proto);
      for (const code of IcmpErrorCodes[type] ?? []) {
        for (const l4Bytes of [8, 28]) {
          const e = { type, code, l4Bytes };
          const r = dp.runXdp(errorAbout(reply(Addr.vip, 80, proto), e));
          t.is(r.retval, XdpAction.TX);
          t.deepEqual(r.out, toNode(errorAbout(reply(Addr.pod, 8080, proto), { ...e, to: Addr.pod }), proto), `code ${code}, ${l4Bytes} bytes`);
        }
      }
      t.deepEqual(dp.nonZeroStats(), { ICMP_TO_BACKEND: 2 * (IcmpErrorCodes[type]?.length ?? 0) });
      // Nothing recorded: an error makes no flow.
      t.deepEqual(dp.maps.flows.entries(), []);
    });
  }
}

test('fragmentation needed from a router reaches the pod with its MTU, every checksum verifying', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp, Proto.TCP);
  dp.runXdp(clientTcp({ flags: { syn: true } }));

  const r = dp.runXdp(errorAbout(reply(Addr.vip, 80, Proto.TCP), { type: 3, code: 4, l4Bytes: 1000 }));

  const inner = decodeFrame(r.out).geneve?.inner;
  t.like(inner?.ip, { src: ROUTER, dst: Addr.pod, checksumValid: true });
  t.like(inner?.icmp, { type: 3, code: 4, nextHopMtu: 1400, checksumValid: true });
  const q = decodeIcmpQuote(inner?.icmp?.payload ?? Buffer.alloc(0));
  t.like(q.ip, { src: Addr.pod, dst: Addr.client, totalLength: 1400 + 40, checksumValid: true });
  t.like(q, { sport: 8080, dport: 40000 });
  t.is(decodeFrame(reply(Addr.pod, 8080, Proto.TCP)).tcp?.checksum, q.l4.readUInt16BE(16), 'quoted TCP checksum as the pod sent it');
});

test('the flow table decides the backend: an error follows the flow, not a fresh Maglev pick', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.runXdp(clientTcp({ flags: { syn: true } })); // the flow goes to pod (11)
  dp.setService({ serviceId: 1, backends: [12] }); // Maglev now says pod2

  const r = dp.runXdp(errorAbout(reply(Addr.vip, 80, Proto.TCP), { type: 3, code: 4 }));

  t.like(decodeFrame(r.out).geneve?.inner.ip, { dst: Addr.pod });
  t.like(decodeFrame(r.out).ip, { dst: Addr.backendNode });
});

test('an error about a local backend\'s reply is translated and passed to the stack for the pod', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 21, address: Addr.localPod, port: 8080, nodeId: NodeId.lb, proto: Proto.UDP });
  dp.setService({ serviceId: 2, backends: [21], proto: Proto.UDP });
  for (const code of IcmpErrorCodes[IcmpType.DEST_UNREACH] ?? []) {
    const r = dp.runXdp(errorAbout(reply(Addr.vip, 80, Proto.UDP), { type: 3, code, from: Addr.client }));
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, errorAbout(reply(Addr.localPod, 8080, Proto.UDP), { type: 3, code, from: Addr.client, to: Addr.localPod }), `code ${code}`);
  }
});

test('SNAT mode: an error about a reply reaches the pod quoting pod -> node:port, from this node', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  remoteService(dp, Proto.UDP);
  dp.runXdp(clientUdp({ dport: 80 }));
  const port = SNAT_MIN + (flowHash({ src: Addr.client, dst: Addr.vip, sport: 40000, dport: 80, proto: Proto.UDP }) % SNAT_RANGE);
  for (const [type, codes] of Object.entries(IcmpErrorCodes)) {
    for (const code of codes) {
      const e = { type: Number(type), code };
      const r = dp.runXdp(errorAbout(reply(Addr.vip, 80, Proto.UDP), e));
      t.is(r.retval, XdpAction.TX);
      t.deepEqual(r.out, toNode(errorAbout(reply(Addr.pod, 8080, Proto.UDP, Addr.lbNode, port), { ...e, from: Addr.lbNode, to: Addr.pod }), Proto.UDP),
        `type ${type} code ${code}`);
    }
  }
});

test('SNAT mode: the pod\'s error about a packet from node:port goes to the client as the frontend\'s', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  remoteService(dp, Proto.UDP);
  dp.runXdp(clientUdp({ dport: 80 }));
  const port = SNAT_MIN + (flowHash({ src: Addr.client, dst: Addr.vip, sport: 40000, dport: 80, proto: Proto.UDP }) % SNAT_RANGE);
  /** The client's request as it left the client, and as the pod got it. */
  const request = (src: string, sport: number, dst: string, dport: number): Buffer => buildFrame({ ip: { src, dst, id: 9 }, udp: { sport, dport, payload: Buffer.from('query') } });
  for (const [type, codes] of Object.entries(IcmpErrorCodes)) {
    for (const code of codes) {
      const e = { type: Number(type), code, l4Bytes: 8 };
      const podSent = errorAbout(request(Addr.lbNode, port, Addr.pod, 8080), { ...e, from: Addr.pod, to: Addr.lbNode }, { src: Mac.backendNode, dst: Mac.nic });
      const r = dp.runXdp(podSent);
      t.is(r.retval, XdpAction.TX);
      t.deepEqual(r.out, errorAbout(request(Addr.client, 40000, Addr.vip, 80), { ...e, from: Addr.vip, to: Addr.client }, { src: Mac.nic, dst: Mac.router }),
        `type ${type} code ${code}`);
    }
  }
  t.is(dp.stat('ICMP_TO_CLIENT'), 21n);
});

test('errors quoting no flow pass to the stack untouched; a frontend without endpoints drops them, counted', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp, Proto.TCP);
  dp.setService({ serviceId: 3, port: 81, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });
  const notOurs = [
    errorAbout(reply(Addr.lbNode, 22, Proto.TCP), { type: 3, code: 4, to: Addr.lbNode }),
    errorAbout(reply(Addr.vip, 8443, Proto.TCP), { type: 3, code: 3 }),
    errorAbout(reply(Addr.vip, 80, Proto.UDP), { type: 11, code: 0 }),
    errorAbout(reply(Addr.vip, 80, Proto.TCP), { type: 3, code: 4, l4Bytes: 4 }),
    buildFrame({ eth: { src: Mac.router, dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.vip }, icmp: { type: IcmpType.ECHO_REQUEST, code: 0, payload: Buffer.alloc(16) } }),
  ];
  for (const frame of notOurs) {
    const r = dp.runXdp(frame);
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, frame);
  }
  t.is(dp.runXdp(errorAbout(reply(Addr.vip, 81, Proto.TCP), { type: 3, code: 4 })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { PASS_OTHER_PROTO: notOurs.length, DROP_ICMP_NO_BACKEND: 1 });
});

test('the backend node decapsulates an ICMP error from a node and passes it to the stack, recording nothing', (t) => {
  const dp = Datapath.open(t);
  const inner = errorAbout(reply(Addr.pod, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.pod });
  const withOption = { options: [dsrOption(Addr.vip, 80)] };
  // The stack takes the inner frame only addressed to this NIC: it gets the outer MACs.
  const expected = Buffer.from(inner);
  macToBytes(Mac.nic).copy(expected, 0);
  macToBytes(Mac.backendNode).copy(expected, 6);
  for (const geneve of [{}, withOption]) {
    const r = dp.runXdp(buildGeneveFrame({ eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000, geneve, inner }));
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, expected);
  }
  const echo = buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, icmp: { type: IcmpType.ECHO_REQUEST, code: 0 } });
  t.is(dp.runXdp(buildGeneveFrame({ eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000, inner: echo })).retval, XdpAction.DROP);
  t.deepEqual(dp.maps.dsrRevnat.entries(), []);
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 2, DROP_GENEVE_BAD_INNER: 1 });
});
