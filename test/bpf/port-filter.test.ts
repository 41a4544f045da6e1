/**
 * lb4_port_filter (docs/datapath.md, Maps): a bitmap per protocol of the
 * destination ports no frontend uses. A packet to a port whose bit is set
 * cannot be for a service and passes without the lb4_services lookup; a
 * filter left all zero (as created) filters nothing.
 */
import test from 'ava';
import { portFilterBit, portFilterWords } from '../../src/bpf/index.js';
import { buildFrame, buildGeneveFrame, dsrOption } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

function service(dp: Datapath, proto: number, port: number): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend, proto });
  dp.setService({ serviceId: 1, backends: [11], proto, port });
}

test('with the filter written for the frontends, service traffic is balanced and other ports pass untouched', (t) => {
  const dp = Datapath.open(t);
  service(dp, Proto.TCP, 80);
  dp.setPortFilter();
  const other = clientTcp({ dport: 81, flags: { syn: true } });

  t.is(dp.runXdp(clientTcp({ flags: { syn: true } })).retval, XdpAction.TX);
  const r = dp.runXdp(other);

  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, other);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_ENCAP: 1, PASS_NOT_SERVICE: 1 });
});

test('a set bit is trusted: a frontend on a port the filter marks unused is not looked up', (t) => {
  const dp = Datapath.open(t);
  service(dp, Proto.TCP, 80);
  // The control plane must clear a port's bit before adding a frontend on it; here it did not.
  dp.maps.portFilter.updateBatch(portFilterWords([]).map((w, i) => [i, w] as const));
  const frame = clientTcp({ flags: { syn: true } });

  const r = dp.runXdp(frame);

  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, frame);
  t.deepEqual(dp.nonZeroStats(), { PASS_NOT_SERVICE: 1 });
  t.is(dp.maps.flows.entries().length + dp.maps.flowsNew.entries().length, 0);
});

test('TCP and UDP have separate bitmaps: a UDP frontend leaves the same TCP port filtered', (t) => {
  const dp = Datapath.open(t);
  service(dp, Proto.UDP, 53);
  dp.setPortFilter();

  t.is(dp.runXdp(clientUdp({ dport: 53 })).retval, XdpAction.TX);
  t.is(dp.runXdp(clientTcp({ dport: 53, flags: { syn: true } })).retval, XdpAction.PASS);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 1, TX_ENCAP: 1, PASS_NOT_SERVICE: 1 });
});

test('the layout: word = protocol base + port / 64, bit = port % 64, host-order port', (t) => {
  t.deepEqual(portFilterBit(Proto.TCP, 0), { word: 0, bit: 0 });
  t.deepEqual(portFilterBit(Proto.TCP, 65535), { word: 1023, bit: 63 });
  t.deepEqual(portFilterBit(Proto.UDP, 6081), { word: 1024 + 95, bit: 1 });
  t.throws(() => portFilterBit(132, 80), { instanceOf: RangeError });
  const words = portFilterWords([{ proto: Proto.TCP, port: 80 }, { proto: Proto.UDP, port: 80 }, { proto: 132, port: 9 }]);
  t.is(words.length, 2048);
  t.is(words[1], ~(1n << 16n) & 0xffff_ffff_ffff_ffffn);
  t.is(words[1025], ~(1n << 16n) & 0xffff_ffff_ffff_ffffn);
  t.is(words[0], 0xffff_ffff_ffff_ffffn);
});

test('Geneve to this node is judged before the filter: with every port filtered, a stranger\'s dsrlb Geneve is still dropped', (t) => {
  const dp = Datapath.open(t);
  dp.maps.portFilter.updateBatch(portFilterWords([]).map((w, i) => [i, w] as const));
  const forged = buildGeneveFrame({
    eth: { dst: Mac.nic }, outer: { src: Addr.stranger, dst: Addr.lbNode }, sport: 50000,
    geneve: { options: [dsrOption(Addr.vip, 80)] }, inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 1, dport: 8080 } }),
  });
  const plain = clientUdp({ dport: 6081 }, { dst: Addr.lbNode, src: Addr.stranger });

  // From an address that is not a node: dropped by the Geneve path, not passed by the filter.
  t.is(dp.runXdp(forged).retval, XdpAction.DROP);
  // A datagram without dsrlb's option is somebody else's: the Geneve path passes it, not the filter.
  t.is(dp.runXdp(plain).retval, XdpAction.PASS);
  t.deepEqual(dp.nonZeroStats(), { DROP_GENEVE_UNKNOWN_NODE: 1, PASS_GENEVE_FOREIGN: 1 });
});
