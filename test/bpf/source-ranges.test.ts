/** loadBalancerSourceRanges (docs/design.md §1.1): checked before anything else. */
import test from 'ava';
import { Addr, clientTcp, Datapath, NodeId, SvcFlag, XdpAction } from '../helpers/datapath.js';

function rangedService(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11], flags: SvcFlag.SOURCE_RANGES });
  // 198.51.100.96/28 for service 1; prefix length counts the 32 service-id bits.
  dp.maps.sourceRanges.update({ prefixlen: 32 + 28, serviceId: 1, address: '198.51.100.96' }, 1);
  // A range of another service grants nothing here.
  dp.maps.sourceRanges.update({ prefixlen: 32 + 8, serviceId: 2, address: '10.0.0.0' }, 1);
}

test('a client inside a source range is load-balanced', (t) => {
  const dp = Datapath.open(t);
  rangedService(dp);
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX);
  t.is(dp.stat('DROP_SOURCE_RANGE'), 0n);
});

test('a client outside every range of the service is dropped, counted, and leaves no flow', (t) => {
  const dp = Datapath.open(t);
  rangedService(dp);
  for (const src of ['198.51.100.112', '10.1.2.3']) {
    t.is(dp.runXdp(clientTcp({ flags: { syn: true } }, { src })).retval, XdpAction.DROP, src);
  }
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 2, DROP_SOURCE_RANGE: 2 });
  t.deepEqual([...dp.maps.flows.entries(), ...dp.maps.flowsNew.entries()], []);
});

test('without the flag, ranges are not consulted', (t) => {
  const dp = Datapath.open(t);
  rangedService(dp);
  dp.setService({ serviceId: 1, backends: [11] });
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } }, { src: '10.1.2.3' })).retval, XdpAction.TX);
});

test('an established flow is dropped once its service gains source ranges that leave its client out', (t) => {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
  t.is(dp.runXdp(clientTcp({ flags: { syn: true } }, { src: '10.1.2.3' })).retval, XdpAction.TX);
  t.is(dp.runXdp(clientTcp({ flags: { ack: true } }, { src: '10.1.2.3' })).retval, XdpAction.TX, 'established');

  rangedService(dp);
  t.is(dp.runXdp(clientTcp({ flags: { ack: true } }, { src: '10.1.2.3' })).retval, XdpAction.DROP);
  t.is(dp.stat('DROP_SOURCE_RANGE'), 1n);
});
