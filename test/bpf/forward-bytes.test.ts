/**
 * Bytes of forwarded packets by path (stats_bytes, bpf/lib/stats_bytes.h):
 * every forward counter grows by the frame's length as it left the program
 * (the output frame of BPF_PROG_RUN: after encapsulation, decapsulation or a
 * rewrite), under the same counter as its packet; a drop, a packet handed to
 * the stack untouched, and the packet after a forward add nothing; a packet
 * two forward counters count adds its frame to both.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { classify, COUNTER_NAMES } from '../../src/agent/datapath-counters.js';
import { projectRoot } from '../../src/bpf/index.js';
import { buildFrame, buildGeneveFrame, decodeFrame, dsrOption } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, TcAction, XdpAction } from '../helpers/datapath.js';

const payload = Buffer.alloc(300, 0x61);

function remoteService(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
}

function localService(dp: Datapath): void {
  dp.addBackend({ id: 21, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 2, backends: [21] });
}

test('DSR encapsulation counts the encapsulated frame, packet after packet', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);

  const syn = dp.runXdp(clientTcp({ flags: { syn: true } }));
  const data = dp.runXdp(clientTcp({ flags: { ack: true, psh: true }, seq: 1001, payload }));

  t.is(syn.retval, XdpAction.TX);
  t.is(data.retval, XdpAction.TX);
  t.true(data.out.length > clientTcp({ flags: { ack: true, psh: true }, seq: 1001, payload }).length, 'the frame grew by its Geneve headers');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 2, TX_ENCAP: 2 });
  t.deepEqual(dp.nonZeroStatBytes(), { TX_ENCAP: syn.out.length + data.out.length });
});

test('SNAT mode counts the encapsulated frame and the reply sent to the client', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11], proto: Proto.UDP, port: 53 });
  const out = dp.runXdp(clientUdp({ payload }));
  t.is(out.retval, XdpAction.TX);
  const sport = decodeFrame(out.out).geneve?.inner.udp?.sport ?? 0;

  const reply = dp.runXdp(buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    ip: { src: Addr.pod, dst: Addr.lbNode, id: 5, ttl: 63 },
    udp: { sport: 8080, dport: sport, payload: Buffer.from('answer') },
  }));

  t.is(reply.retval, XdpAction.TX);
  t.is(dp.stat('TX_SNAT_REPLY'), 1n);
  t.deepEqual(dp.nonZeroStatBytes(), { TX_SNAT: out.out.length, TX_SNAT_REPLY: reply.out.length });
});

test('a local backend\'s DNAT counts the frame passed to the stack, and its pod\'s reply the frame rewritten at tc egress', (t) => {
  const dp = Datapath.open(t);
  localService(dp);

  const dnat = dp.runXdp(clientTcp({ flags: { syn: true }, payload }));
  const reply = dp.runTc(buildFrame({
    eth: { src: Mac.nic, dst: Mac.router },
    ip: { src: Addr.localPod, dst: Addr.client },
    tcp: { sport: 8080, dport: 40000, flags: { syn: true, ack: true }, payload: Buffer.from('hi') },
  }));

  t.is(dnat.retval, XdpAction.PASS);
  t.is(reply.retval, TcAction.UNSPEC);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, PASS_LOCAL: 1, REVNAT_REWRITE: 1 });
  t.deepEqual(dp.nonZeroStatBytes(), { PASS_LOCAL: dnat.out.length, REVNAT_REWRITE: reply.out.length });
});

test('decapsulation counts the inner frame handed to the stack, not the Geneve frame that came in', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.lb });
  dp.setService({ serviceId: 1, backends: [11] });
  const inner = buildFrame({
    eth: { src: Mac.router, dst: '02:00:00:00:00:99' },
    ip: { src: Addr.client, dst: Addr.pod, id: 7 },
    tcp: { sport: 40000, dport: 8080, flags: { syn: true }, payload },
  });
  const frame = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src: Addr.backendNode, dst: Addr.lbNode, ttl: 64 },
    sport: 51234,
    geneve: { options: [dsrOption(Addr.vip, 80)] },
    inner,
  });

  const r = dp.runXdp(frame);

  t.is(r.retval, XdpAction.PASS);
  t.is(r.out.length, inner.length);
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 1 });
  t.deepEqual(dp.nonZeroStatBytes(), { PASS_DECAP: inner.length });
});

test('drops, packets handed to the stack untouched and the packets after a forward add no bytes', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  const encap = dp.runXdp(clientTcp({ flags: { syn: true } }));
  t.is(encap.retval, XdpAction.TX);

  // Dropped: its total length runs past the frame's end; a backend whose node has no entry.
  const truncated = clientTcp({ flags: { ack: true }, payload });
  truncated.writeUInt16BE(2000, 14 + 2);
  t.is(dp.runXdp(truncated).retval, XdpAction.DROP);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: 99 });
  dp.setService({ serviceId: 3, backends: [12], port: 81 });
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 81 })).retval, XdpAction.DROP);
  // Handed to the stack: to no frontend, not IPv4, another protocol; tc egress: no reply of a flow here.
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 22 }, { dst: Addr.lbNode })).retval, XdpAction.PASS);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true }, dport: 80 }, { dst: Addr.otherNode })).retval, XdpAction.PASS);
  const arp = Buffer.alloc(60);
  arp.writeUInt16BE(0x0806, 12);
  t.is(dp.runXdp(arp).retval, XdpAction.PASS);
  t.is(dp.runTc(buildFrame({
    eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.lbNode, dst: Addr.client }, tcp: { sport: 22, dport: 40000, flags: { ack: true }, payload },
  })).retval, TcAction.UNSPEC);

  t.deepEqual(dp.nonZeroStats(), {
    SERVICE_HIT: 2, TX_ENCAP: 1, DROP_TRUNCATED: 1, DROP_NO_NODE: 1, PASS_NOT_SERVICE: 2, PASS_NOT_IPV4: 1,
  });
  t.deepEqual(dp.nonZeroStatBytes(), { TX_ENCAP: encap.out.length }, 'only the one forward, once');
});

test('a packet two forward counters count (the LB node sending a flow it does not know to its second chance) adds its frame to both', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setPrevMaglev(1, Array.from({ length: 251 }, () => 12));

  const r = dp.runXdp(clientTcp({ flags: { ack: true }, payload }));

  t.is(r.retval, XdpAction.TX);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_RESCUE: 1, TX_ENCAP: 1 });
  t.deepEqual(dp.nonZeroStatBytes(), { TX_RESCUE: r.out.length, TX_ENCAP: r.out.length });
});

test('lbctl bpf stats shows the bytes beside the forward counters; its JSON keeps every counter and gains `bytes`', async (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  const encap = dp.runXdp(clientTcp({ flags: { syn: true }, payload }));
  t.is(encap.retval, XdpAction.TX);
  const lbctl = (args: string[]): Promise<string> =>
    promisify(execFile)('node', [`${projectRoot}/bin/lbctl.js`, 'bpf', 'stats', '--bpffs-root', dp.pinRoot, ...args]).then((r) => r.stdout);

  const json = JSON.parse(await lbctl(['-o', 'json'])) as Record<string, unknown>;
  t.like(json, { service_hit: 1, tx_encap: 1, pass_not_service: 0 });
  t.is(Object.keys(json).length, COUNTER_NAMES.length + 1, 'every counter, and bytes');
  t.deepEqual(json['bytes'], Object.fromEntries(COUNTER_NAMES.filter((n) => classify(n).metric === 'forward').map((n) => [n, n === 'tx_encap' ? encap.out.length : 0])));
  const text = await lbctl([]);
  t.regex(text, /COUNTER\s+VALUE\s+BYTES/);
  t.regex(text, new RegExp(`tx_encap\\s+1\\s+${encap.out.length}\\b`));
  t.regex(text, /service_hit\s+1\s+-/);
});
