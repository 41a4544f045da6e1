/**
 * The flow table (docs/design.md §1.1): an established flow keeps its backend
 * when the service's backends change; a flow whose backend is gone moves.
 * Only flows the stateless path does not take keep one (docs/datapath.md,
 * "Stateless LB node"): these run in SNAT mode; DSR flows are in
 * stateless-lb.test.ts.
 */
import test from 'ava';
import { decodeFrame, flowHash } from '../../src/packet/index.js';
import { dsrlb_flow_state } from '../../src/bpf/consts.generated.js';
import { Addr, clientTcp, clientUdp, Datapath, flowEntry, handFlow, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

const MAGLEV_SIZE = 251;

function podOf(out: Buffer): string | undefined {
  return decodeFrame(out).geneve?.inner.ip?.dst;
}

function twoBackends(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11, 12] });
}

test('the first packet of a flow picks the backend in its Maglev slot and records the flow', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  for (let sport = 40000; sport < 40010; sport++) {
    const slot = flowHash({ src: Addr.client, dst: Addr.vip, sport, dport: 80, proto: Proto.TCP }) % MAGLEV_SIZE;
    const expected = slot % 2 === 0 ? Addr.pod : Addr.pod2;
    t.is(podOf(dp.runXdp(clientTcp({ sport, flags: { syn: true } })).out), expected, `sport ${sport}`);
    t.like(dp.maps.flowsNew.lookup({ saddr: Addr.client, daddr: Addr.vip, sport, dport: 80, proto: Proto.TCP, flags: 0 }),
      flowEntry(slot % 2 === 0 ? 11 : 12, 1, 1));
  }
});

test('an established flow keeps its backend after the Maglev table stops naming it', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  const first = podOf(dp.runXdp(clientTcp({ flags: { syn: true } })).out);
  const other = first === Addr.pod ? 12 : 11;
  dp.setMaglev(1, Array.from({ length: MAGLEV_SIZE }, () => other));

  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), first);
  // A new flow follows the new table.
  const fresh = podOf(dp.runXdp(clientTcp({ sport: 41000, flags: { syn: true } })).out);
  t.is(fresh, other === 11 ? Addr.pod : Addr.pod2);
});

test('a flow whose backend was removed moves to a remaining backend and the flow entry follows', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  const first = podOf(dp.runXdp(clientTcp({ flags: { syn: true } })).out);
  const [gone, kept] = first === Addr.pod ? [11, 12] : [12, 11];
  dp.removeBackend(gone);
  dp.setService({ serviceId: 1, backends: [kept] });

  const r = dp.runXdp(clientTcp({ flags: { ack: true } }));

  t.is(r.retval, XdpAction.TX);
  t.is(podOf(r.out), kept === 11 ? Addr.pod : Addr.pod2);
  t.like(dp.maps.flowsNew.lookup({ saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 }),
    flowEntry(kept, 1, 1));
});

test('a flow entry left by another service id is not reused', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  dp.maps.flows.update({ saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 }, handFlow(flowEntry(12, 99, 1)));
  dp.setMaglev(1, Array.from({ length: MAGLEV_SIZE }, () => 11));

  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), Addr.pod);
});

test('a flow entry naming a freed backend slot, or a slot a newer backend took, is stale: the flow is picked again', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  const flowKey = { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 };
  dp.setMaglev(1, Array.from({ length: MAGLEV_SIZE }, () => 12));
  dp.maps.flows.update(flowKey, handFlow(flowEntry(11, 1, 1)));
  dp.removeBackend(11);
  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), Addr.pod2, 'freed slot');
  t.like(dp.maps.flowsNew.lookup(flowKey), flowEntry(12, 1, 1), 'picked again: a new flow, unconfirmed');
  t.is(dp.maps.flows.lookup(flowKey), undefined, 'the stale established entry is gone (it would hide the new one)');

  // Id 12 now belongs to another pod (generation 2): the old entry must not lead there.
  dp.maps.flows.update(flowKey, handFlow(flowEntry(12, 1, 1)));
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, generation: 2 });
  dp.addBackend({ id: 12, address: '198.18.2.7', port: 8080, nodeId: NodeId.other, generation: 2 });
  dp.setMaglev(1, Array.from({ length: MAGLEV_SIZE }, () => 11));
  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), Addr.pod, 'reused id');
  t.like(dp.maps.flowsNew.lookup(flowKey), flowEntry(11, 1, 2));
});

// ---- the established-flow path: lb4_frontends instead of lb4_services ----------

const FLOW_KEY = { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 };

test('once its frontend is removed, an established flow is not forwarded any more', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  dp.removeService(1);

  const r = dp.runXdp(clientTcp({ flags: { ack: true } }));

  t.is(r.retval, XdpAction.PASS);
  t.is(dp.stat('PASS_NOT_SERVICE'), 1n);
});

test('a flow recorded with an earlier frontend in its slot goes through lb4_services and follows the frontend there now', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  // The slot now holds another frontend (generation 2) of another service; this VIP:port belongs to service 2.
  dp.setService({ serviceId: 2, backends: [12], frontendGeneration: 2 });
  dp.maps.frontends.update(1, { serviceId: 2, generation: 2, flags: 0 });

  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), Addr.pod2);
  t.like(dp.maps.flowsNew.lookup(FLOW_KEY), { ...flowEntry(12, 2), revnatId: 2, frontendGeneration: 2 });
});

test('a flow whose frontend slot got a new generation for the same service keeps its backend and is recorded anew', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  const first = podOf(dp.runXdp(clientTcp({ flags: { syn: true } })).out);
  const id = first === Addr.pod ? 11 : 12;
  dp.setService({ serviceId: 1, backends: [11, 12], frontendGeneration: 7 });

  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), first);
  t.like(dp.maps.flowsNew.lookup(FLOW_KEY), { ...flowEntry(id), frontendGeneration: 7 });
  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), first, 'and the short path takes it from there');
});

test('a flow records when it was created and what the client said of the connection: SYN, then established, FIN, RST; a SYN starts over', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  const key = { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 };
  const before = Number(process.hrtime.bigint() / 1_000_000_000n);
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  const created = dp.maps.flowsNew.lookup(key);
  t.is(created?.state, dsrlb_flow_state.DSRLB_FLOW_SYN);
  // bpf_ktime_get_ns() and Node's hrtime read the same clock (CLOCK_MONOTONIC).
  const after = Number(process.hrtime.bigint() / 1_000_000_000n);
  t.true(created !== undefined && created.createdS >= before && created.createdS <= after, `${created?.createdS} in [${before}, ${after}]`);

  const steps: [Parameters<typeof clientTcp>[0]['flags'], number][] = [
    [{ ack: true }, dsrlb_flow_state.DSRLB_FLOW_ESTABLISHED],
    [{ fin: true, ack: true }, dsrlb_flow_state.DSRLB_FLOW_FIN],
    [{ ack: true }, dsrlb_flow_state.DSRLB_FLOW_FIN], // the client's last ACK: still closing
    [{ rst: true }, dsrlb_flow_state.DSRLB_FLOW_RST],
    [{ syn: true }, dsrlb_flow_state.DSRLB_FLOW_SYN], // the tuple reused
  ];
  for (const [flags, state] of steps) {
    dp.runXdp(clientTcp({ flags }));
    const f = dp.maps.flowsNew.lookup(key);
    t.is(f?.state, state, JSON.stringify(flags));
    t.is(f?.createdS, created?.createdS, 'the creation time stays');
  }
});

test('a flow first seen mid-connection is established; a UDP flow has no state', (t) => {
  const dp = Datapath.open(t, { mode: 'snat' });
  twoBackends(dp);
  dp.runXdp(clientTcp({ sport: 40001, flags: { ack: true } }));
  t.is(dp.maps.flowsNew.lookup({ saddr: Addr.client, daddr: Addr.vip, sport: 40001, dport: 80, proto: Proto.TCP, flags: 0 })?.state,
    dsrlb_flow_state.DSRLB_FLOW_ESTABLISHED);
  dp.addBackend({ id: 13, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 2, backends: [13], proto: Proto.UDP, port: 53 });
  dp.runXdp(clientUdp());
  const udp = dp.maps.flowsNew.lookup({ saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 53, proto: Proto.UDP, flags: 0 });
  t.is(udp?.state, dsrlb_flow_state.DSRLB_FLOW_UNTRACKED);
  t.true((udp?.createdS ?? 0) > 0);
});
