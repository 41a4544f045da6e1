/**
 * Terminating backends (docs/datapath.md, "Stateless LB node"): the control
 * plane takes one out of the current Maglev table at once and it stays in the
 * previous one. New connections (SYNs) only ever reach the current table's
 * backend; a flow's later packets carry the terminating backend as their
 * second chance, which its node follows when it does not know the flow. With
 * only terminating backends left, established flows go on to the previous
 * table's backend and new connections get the no-endpoints action. No flow
 * state is written on the LB node.
 */
import test from 'ava';
import { decodeFrame } from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, NodeId, SvcFlag, XdpAction } from '../helpers/datapath.js';

const SIZE = 251;

function podOf(out: Buffer): string | undefined {
  return decodeFrame(out).geneve?.inner.ip?.dst;
}

/** The second-chance option's payload (pod address, port), or undefined. */
function secondChance(out: Buffer): string | undefined {
  return decodeFrame(out).geneve?.options.find((o) => o.type === 0x03)?.data.toString('hex');
}

/** 12 (pod2, on NodeId.other) started terminating: the table is all 11 now, the previous one all 12. */
function terminating12(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other, terminating: true });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setPrevMaglev(1, Array.from({ length: SIZE }, () => 12));
}

test('a flow\'s later packets go to the current backend with the terminating one as their second chance', (t) => {
  const dp = Datapath.open(t);
  terminating12(dp);
  const r = dp.runXdp(clientTcp({ flags: { ack: true }, payload: Buffer.from('more') }));
  t.is(r.retval, XdpAction.TX);
  t.is(podOf(r.out), Addr.pod);
  // 198.18.2.6:8080 (Addr.pod2), u16 zero
  t.is(secondChance(r.out), 'c61202061f900000');
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, SECOND_CHANCE: 1, TX_ENCAP: 1 });
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('a new connection never reaches a terminating backend: a SYN goes to the current one, without a second chance', (t) => {
  const dp = Datapath.open(t);
  terminating12(dp);
  const r = dp.runXdp(clientTcp({ flags: { syn: true } }));
  t.is(podOf(r.out), Addr.pod);
  t.is(secondChance(r.out), undefined);
  t.is(decodeFrame(r.out).geneve?.options.length, 1);
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('with only terminating backends, established flows go on to the previous table\'s backend and new ones are rejected', (t) => {
  const dp = Datapath.open(t);
  terminating12(dp);
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });

  const ack = dp.runXdp(clientTcp({ flags: { ack: true } }));
  t.is(podOf(ack.out), Addr.pod2);
  t.is(secondChance(ack.out), undefined);
  const rst = dp.runXdp(clientTcp({ sport: 40001, flags: { syn: true } }));
  t.is(rst.retval, XdpAction.TX);
  t.true(decodeFrame(rst.out).tcp?.flags.rst);
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('a Maglev table that still names a terminating backend drops the new flow rather than use it', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.backend, terminating: true });
  dp.setService({ serviceId: 1, backends: [12] });
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, DROP_TERMINATING: 1 });
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});
