/**
 * Terminating backends serve the flows they have and are never chosen for a
 * new one; with only terminating backends left, established flows continue
 * and new connections get the no-endpoints action.
 */
import test from 'ava';
import { decodeFrame } from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, flowEntry, NodeId, Proto, SvcFlag, XdpAction } from '../helpers/datapath.js';

const flowKey = { saddr: Addr.client, daddr: Addr.vip, sport: 40000, dport: 80, proto: Proto.TCP, flags: 0 };

function podOf(out: Buffer): string | undefined {
  return decodeFrame(out).geneve?.inner.ip?.dst;
}

function withFlowTo12(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [12] });
  dp.runXdp(clientTcp({ flags: { syn: true } }));
  // 12 starts terminating: the control plane rebuilds the table without it.
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.backend, terminating: true });
  dp.setService({ serviceId: 1, backends: [11] });
}

test('an established flow keeps its terminating backend', (t) => {
  const dp = Datapath.open(t);
  withFlowTo12(dp);
  const r = dp.runXdp(clientTcp({ flags: { ack: true }, payload: Buffer.from('more') }));
  t.is(r.retval, XdpAction.TX);
  t.is(podOf(r.out), Addr.pod2);
  t.like(dp.maps.flows.lookup(flowKey), flowEntry(12, 1, 1));
});

test('a new connection reusing the tuple of a flow to a terminating backend goes elsewhere', (t) => {
  const dp = Datapath.open(t);
  withFlowTo12(dp);
  t.is(podOf(dp.runXdp(clientTcp({ flags: { syn: true } })).out), Addr.pod);
  t.like(dp.maps.flows.lookup(flowKey), flowEntry(11, 1, 1));
});

test('with only terminating backends, established flows continue and new ones are rejected', (t) => {
  const dp = Datapath.open(t);
  withFlowTo12(dp);
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });

  t.is(podOf(dp.runXdp(clientTcp({ flags: { ack: true } })).out), Addr.pod2);
  const rst = dp.runXdp(clientTcp({ sport: 40001, flags: { syn: true } }));
  t.is(rst.retval, XdpAction.TX);
  t.true(decodeFrame(rst.out).tcp?.flags.rst);
});

test('a Maglev table that still names a terminating backend drops the new flow rather than use it', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.backend, terminating: true });
  dp.setService({ serviceId: 1, backends: [12] });
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, DROP_TERMINATING: 1 });
  t.deepEqual(dp.maps.flows.entries(), []);
});
