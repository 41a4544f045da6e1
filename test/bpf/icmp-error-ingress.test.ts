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
  IcmpErrorCodes, IcmpType, IcmpUnreachCode, macToBytes, snatOption,
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

/** The translated error in Geneve to the pod's node, with dsrlb's option as the flow's packets carry it. */
function toNode(inner: Buffer, proto: number, dport = 80, snat = false): Buffer {
  return buildGeneveFrame({
    eth: { src: Mac.nic, dst: Mac.backendNode },
    outer: { src: Addr.lbNode, dst: Addr.backendNode, ttl: 64, id: 0, df: true },
    sport: geneveSourcePort({ src: Addr.client, dst: Addr.vip, sport: 40000, dport, proto }),
    geneve: { options: [(snat ? snatOption : dsrOption)(Addr.vip, dport)] },
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
      t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
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

test('SNAT mode: the flow table decides the backend: an error follows the flow, not a fresh Maglev pick', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
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
      t.deepEqual(r.out, toNode(errorAbout(reply(Addr.pod, 8080, Proto.UDP, Addr.lbNode, port), { ...e, from: Addr.lbNode, to: Addr.pod }), Proto.UDP, 80, true),
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

/** The backend node: the frontend VIP:80 (service 1) with the pod as its local backend. */
function backendNode(t: Parameters<typeof Datapath.open>[0], proto: number = Proto.TCP): Datapath {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.lb, proto });
  dp.setService({ serviceId: 1, backends: [11], proto });
  return dp;
}

/** An LB node's translated error in Geneve to this node (dsrlb's option naming `vip`:`port`, or none). */
function errorInGeneve(inner: Buffer, option: 'dsr' | 'snat' | 'none' = 'dsr', vip: string = Addr.vip, port = 80): Buffer {
  const options = option === 'none' ? [] : [(option === 'dsr' ? dsrOption : snatOption)(vip, port)];
  return buildGeneveFrame({ eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000, geneve: { options }, inner });
}

/** The stack takes the inner frame only addressed to this NIC: it gets the outer MACs. */
function delivered(inner: Buffer): Buffer {
  const out = Buffer.from(inner);
  macToBytes(Mac.nic).copy(out, 0);
  macToBytes(Mac.backendNode).copy(out, 6);
  return out;
}

test('the backend node decapsulates an ICMP error quoting its local backend\'s reply (DSR option or SNAT marker), recording nothing', (t) => {
  const dp = backendNode(t);
  const inner = errorAbout(reply(Addr.pod, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.pod });
  const snatInner = errorAbout(reply(Addr.pod, 8080, Proto.TCP, Addr.backendNode, 61234), { type: 3, code: 4, from: Addr.backendNode, to: Addr.pod });
  for (const [frame, expected] of [[errorInGeneve(inner, 'dsr'), inner], [errorInGeneve(snatInner, 'snat'), snatInner]] as const) {
    const r = dp.runXdp(frame);
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, delivered(expected));
  }
  const echo = buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, icmp: { type: IcmpType.ECHO_REQUEST, code: 0 } });
  t.is(dp.runXdp(errorInGeneve(echo)).retval, XdpAction.DROP);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 2, DROP_GENEVE_BAD_INNER: 1 });
});

test('an ICMP error in Geneve without dsrlb\'s option is foreign: passed to the stack byte for byte, not decapsulated', (t) => {
  const dp = backendNode(t);
  const frame = errorInGeneve(errorAbout(reply(Addr.pod, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.pod }), 'none');
  const r = dp.runXdp(frame);
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, frame);
  t.deepEqual(dp.nonZeroStats(), { PASS_GENEVE_FOREIGN: 1 });
});

test('forged ICMP errors in dsrlb\'s Geneve are judged by their quote: dropped, counted, nothing written', (t) => {
  const dp = backendNode(t);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 2, port: 81, backends: [12] }); // pod2 is a local backend, of another frontend
  const forged: readonly (readonly [string, Buffer, string])[] = [
    ['naming no frontend of this node', errorInGeneve(errorAbout(reply(Addr.pod, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.pod }), 'dsr', Addr.vip, 8443), 'DROP_GENEVE_NOT_FRONTEND'],
    ['quoting a port no backend has', errorInGeneve(errorAbout(reply(Addr.pod, 22, Proto.TCP), { type: 3, code: 4, to: Addr.pod })), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
    ['quoting another frontend\'s backend', errorInGeneve(errorAbout(reply(Addr.pod2, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.pod2 })), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
    ['quoting the wrong protocol', errorInGeneve(errorAbout(reply(Addr.pod, 8080, Proto.UDP), { type: 3, code: 4, to: Addr.pod })), 'DROP_GENEVE_NOT_FRONTEND'],
    ['quoting the backend, addressed elsewhere (a relay)', errorInGeneve(errorAbout(reply(Addr.pod, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.client })), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
    ['quoting an address off the node', errorInGeneve(errorAbout(reply(Addr.client, 8080, Proto.TCP), { type: 3, code: 4, to: Addr.client })), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
    ['quoting the backend with the SNAT marker of no frontend', errorInGeneve(errorAbout(reply(Addr.pod, 8080, Proto.TCP, Addr.backendNode, 61234), { type: 3, code: 4, from: Addr.backendNode, to: Addr.pod }), 'snat', Addr.vip, 9999), 'DROP_GENEVE_NOT_FRONTEND'],
  ];
  const counts: Record<string, number> = {};
  for (const [name, frame, stat] of forged) {
    const r = dp.runXdp(frame);
    t.is(r.retval, XdpAction.DROP, name);
    counts[stat] = (counts[stat] ?? 0) + 1;
  }
  t.deepEqual(dp.nonZeroStats(), counts);
  t.deepEqual(dp.maps.dsrRevnatNew.entries(), []);
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('an LB node\'s forwarded error is accepted by the backend node it was built for (the two programs agree)', (t) => {
  const lb = Datapath.open(t);
  remoteService(lb, Proto.UDP);
  const out = lb.runXdp(errorAbout(reply(Addr.vip, 80, Proto.UDP), { type: 3, code: 3, from: Addr.client }));
  t.is(out.retval, XdpAction.TX);
  const be = backendNode(t, Proto.UDP);
  // The same bytes arriving at a node where the pod is a local backend of the frontend: both
  // Datapaths are node lbNode, so the sender becomes backendNode (MACs and addresses swapped; the
  // outer IPv4 checksum is unchanged by a swap).
  const arriving = Buffer.from(out.out);
  out.out.copy(arriving, 0, 6, 12);
  out.out.copy(arriving, 6, 0, 6);
  out.out.copy(arriving, 14 + 12, 14 + 16, 14 + 20);
  out.out.copy(arriving, 14 + 16, 14 + 12, 14 + 16);
  const r = be.runXdp(arriving);
  t.is(r.retval, XdpAction.PASS);
  t.like(decodeFrame(r.out).ip, { src: Addr.client, dst: Addr.pod });
  t.deepEqual(be.nonZeroStats(), { PASS_DECAP: 1 });
  t.deepEqual(be.maps.dsrRevnatNew.entries(), []);
});
