/**
 * lbctl monitor's datapath side (docs/datapath.md, "Monitor"): with the gate
 * closed nothing reaches the ring buffer; open, a dropped frame is exactly
 * one drop event with its reason and tuple, a DSR encapsulation and a reply
 * rewrite are trace events when traces are asked for; a lease that is over
 * closes the gate; one reader at a time.
 */
import test from 'ava';
import { MonitorSession, monotonicNowNs, type MonitorEvent } from '../../src/bpf/monitor.js';
import { buildFrame, buildGeneveFrame, dsrOption } from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, truncatedTcp, Mac, NodeId, Proto, TcAction, XdpAction } from '../helpers/datapath.js';


function remoteService(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
}

function open(t: { teardown(fn: () => void): void }, dp: Datapath, types: ('drop' | 'trace')[]): MonitorSession {
  const s = MonitorSession.open(dp.pinRoot, types);
  t.teardown(() => s.close());
  return s;
}

test('with the gate closed a drop writes nothing; open, it is exactly one event with its reason and tuple', (t) => {
  const dp = Datapath.open(t);
  t.is(dp.runXdp(truncatedTcp()).retval, XdpAction.DROP, 'dropped before any monitor');

  const s = open(t, dp, ['drop']);
  t.deepEqual(s.poll(), [], 'nothing was written while nobody listened');

  const frame = truncatedTcp();
  const before = monotonicNowNs();
  t.is(dp.runXdp(frame).retval, XdpAction.DROP);
  const events = s.poll();
  t.is(events.length, 1);
  const e = events[0] as MonitorEvent;
  t.like(e, {
    type: 'drop', reason: 'drop_truncated', hook: 'xdp', ifindex: dp.ifindex, len: frame.length, verdict: XdpAction.DROP,
    tuple: { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP }, outer: null, frontend: null,
  });
  t.true(e.monotonicNs >= before && e.monotonicNs <= monotonicNowNs(), 'stamped with CLOCK_MONOTONIC');
  t.is(s.lost(), 0n);

  // Closed again (as a monitor leaves it): the next drop writes nothing.
  dp.maps.monitorGate.update(0, { expiresNs: 0n, types: 0, ownerPid: 0 });
  t.is(dp.runXdp(truncatedTcp()).retval, XdpAction.DROP);
  t.deepEqual(s.poll(), []);
  t.is(dp.stat('DROP_TRUNCATED'), 3n, 'every drop is still counted');
});

test('a forged Geneve packet is one drop event with its outer addresses, inner tuple and the frontend its option names', (t) => {
  const dp = Datapath.open(t);
  const s = open(t, dp, ['drop', 'trace']);
  const forged = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src: Addr.stranger, dst: Addr.lbNode },
    sport: 50000,
    geneve: { options: [dsrOption(Addr.vip, 80)] },
    inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40000, dport: 8080, flags: { syn: true } } }),
  });
  t.is(dp.runXdp(forged).retval, XdpAction.DROP);
  const events = s.poll();
  t.is(events.length, 1);
  t.like(events[0], {
    type: 'drop', reason: 'drop_geneve_unknown_node',
    tuple: { saddr: Addr.client, daddr: Addr.pod, sport: 40000, dport: 8080, proto: Proto.TCP },
    outer: { saddr: Addr.stranger, daddr: Addr.lbNode },
    frontend: { address: Addr.vip, port: 80, option: 'dsr' },
  });
});

test('a DSR encapsulation is a trace event only when traces are asked for', (t) => {
  const dp = Datapath.open(t);
  remoteService(dp);
  const drops = open(t, dp, ['drop']);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX);
  t.deepEqual(drops.poll(), [], 'drops only: no trace');
  drops.close();

  const s = open(t, dp, ['trace']);
  const r = dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.is(r.retval, XdpAction.TX);
  const events = s.poll();
  t.is(events.length, 1);
  t.like(events[0], {
    type: 'trace', reason: 'tx_encap', hook: 'xdp', verdict: XdpAction.TX, len: r.out.length,
    tuple: { saddr: Addr.client, daddr: Addr.pod, sport: 40000, dport: 8080, proto: Proto.TCP },
    outer: { saddr: Addr.lbNode, daddr: Addr.backendNode },
    frontend: { address: Addr.vip, port: 80, option: 'dsr' },
  });
});

test('a reply rewritten at tc egress is a trace event with the frontend as its source', (t) => {
  const dp = Datapath.open(t);
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: Addr.vip, port: 80 });
  dp.addLocalBackend({ address: Addr.pod, port: 8080, serviceId: 1 });
  const s = open(t, dp, ['trace']);
  const reply = buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client }, tcp: { sport: 8080, dport: 40000, flags: { ack: true } } });
  t.is(dp.runTc(reply).retval, TcAction.UNSPEC);
  const events = s.poll();
  t.is(events.length, 1);
  t.like(events[0], {
    type: 'trace', reason: 'revnat_rewrite', hook: 'tc-egress', verdict: -1,
    tuple: { saddr: Addr.vip, daddr: Addr.client, sport: 80, dport: 40000, proto: Proto.TCP }, outer: null,
  });
});

test('a lease that is over closes the gate: no event, and the datapath turns the events off', (t) => {
  const dp = Datapath.open(t);
  const s = open(t, dp, ['drop']);
  // A monitor killed before renewing: its lease ended a second ago.
  dp.maps.monitorGate.update(0, { expiresNs: monotonicNowNs() - 1_000_000_000n, types: 1, ownerPid: 4242 });
  t.is(dp.runXdp(truncatedTcp()).retval, XdpAction.DROP);
  t.deepEqual(s.poll(), []);
  t.is(dp.maps.monitorGate.lookup(0)?.types, 0, 'closed by the datapath');
  t.is(dp.runXdp(truncatedTcp()).retval, XdpAction.DROP);
  t.deepEqual(s.poll(), []);
  // Renewed: events again.
  s.renew();
  dp.runXdp(truncatedTcp());
  t.is(s.poll().length, 1);
});

test('one monitor at a time: a second is refused, naming the first; after close the gate is shut', (t) => {
  const dp = Datapath.open(t);
  const s = open(t, dp, ['drop']);
  const err = t.throws(() => MonitorSession.open(dp.pinRoot, ['drop']));
  t.regex(err?.message ?? '', new RegExp(`another lbctl monitor \\(pid ${process.pid}\\)`));
  s.close();
  t.like(dp.maps.monitorGate.lookup(0), { types: 0 });
  const again = open(t, dp, ['drop']);
  dp.runXdp(truncatedTcp());
  t.is(again.poll().length, 1);
});

test('no datapath pinned: a clear error', (t) => {
  const err = t.throws(() => MonitorSession.open('/sys/fs/bpf/dlt13m-none', ['drop']));
  t.regex(err?.message ?? '', /no dsrlb datapath with monitor events is pinned here/);
});
