/** Hybrid mode (docs/design.md §1.6): DSR for TCP, SNAT for UDP. */
import test from 'ava';
import { decodeFrame, DSR_OPTION, SNAT_OPTION } from '../../src/packet/index.js';
import { Addr, clientTcp, clientUdp, Datapath, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

test('TCP goes DSR (option, client source kept) and UDP goes SNAT (SNAT marker, node source)', (t) => {
  const dp = Datapath.open(t, { mode: 'hybrid' });
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod, port: 5353, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.setService({ serviceId: 2, backends: [12], port: 53, proto: Proto.UDP });

  const tcp = dp.runXdp(clientTcp({ flags: { syn: true } }));
  const udp = dp.runXdp(clientUdp());

  t.is(tcp.retval, XdpAction.TX);
  t.is(udp.retval, XdpAction.TX);
  const ft = decodeFrame(tcp.out);
  t.like(ft.geneve?.options, [{ type: DSR_OPTION.type }]);
  t.is(ft.geneve?.inner.ip?.src, Addr.client);
  const fu = decodeFrame(udp.out);
  t.like(fu.geneve?.options, [{ type: SNAT_OPTION.type }]);
  t.is(fu.geneve?.inner.ip?.src, Addr.lbNode);
  t.like(fu.geneve?.inner.udp, { dport: 5353, checksumState: 'valid' });
  t.true((fu.geneve?.inner.udp?.sport ?? 0) >= 61000);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 2, TX_ENCAP: 1, TX_SNAT: 1 });
});
