/**
 * What the backend node decapsulates (issue 10): only dsrlb's own Geneve (its
 * DSR option, or SNAT mode's marker). Anybody else's Geneve on the port, a
 * CNI overlay's, goes to the stack byte for byte; dsrlb's that names no
 * frontend here, or whose inner destination is no local backend of that
 * frontend, is dropped, counted and writes nothing. The port is --geneve-port.
 */
import test, { type ExecutionContext } from 'ava';
import {
  buildFrame, buildGeneveFrame, decodeFrame, dsrOption, snatOption, type GeneveOption, type GeneveSpec,
} from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, Mac, NodeId, Proto, XdpAction } from '../helpers/datapath.js';

const NODE_PORT = 30080;
/** A reverse-NAT entry an earlier, genuine packet left: it must survive every forgery untouched. */
const earlier = { key: { saddr: Addr.pod, daddr: '198.51.100.150', sport: 8080, dport: 41000, proto: Proto.TCP, flags: 0 }, value: { address: Addr.vip, port: 80 } };

/**
 * This node as a backend node: VIP:80 (service 1) has Addr.pod:8080 here and
 * Addr.pod2:8080 on another node; VIP:81 (service 2) has Addr.pod2:9090 here;
 * this node's NodePort 30080 (service 3) has Addr.pod:8080.
 */
function backendNode(t: ExecutionContext, config: Parameters<Datapath['setConfig']>[0] = {}): Datapath {
  const dp = Datapath.open(t);
  dp.setConfig(config);
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.lb });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 13, address: Addr.pod2, port: 9090, nodeId: NodeId.lb });
  dp.setService({ serviceId: 1, backends: [11, 12] });
  dp.setService({ serviceId: 2, backends: [13], port: 81 });
  dp.setService({ serviceId: 3, backends: [11], vip: Addr.lbNode, port: NODE_PORT });
  dp.maps.dsrRevnat.update(earlier.key, earlier.value);
  return dp;
}

function inner(dst: string = Addr.pod, dport = 8080, proto: 'tcp' | 'udp' = 'tcp'): Buffer {
  const ip = { src: Addr.client, dst, id: 7 };
  const eth = { src: Mac.router, dst: '02:00:00:00:00:99' };
  return proto === 'tcp'
    ? buildFrame({ eth, ip, tcp: { sport: 40000, dport, flags: { syn: true } } })
    : buildFrame({ eth, ip, udp: { sport: 40000, dport, payload: Buffer.from('q') } });
}

function geneve(geneveSpec: GeneveSpec, innerFrame: Buffer = inner(), opts: { src?: string; dport?: number } = {}): Buffer {
  return buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src: opts.src ?? Addr.backendNode, dst: Addr.lbNode, ttl: 64 },
    sport: 51234,
    ...(opts.dport === undefined ? {} : { dport: opts.dport }),
    geneve: geneveSpec,
    inner: innerFrame,
  });
}

const OVN_OPTION: GeneveOption = { optClass: 0x0102, type: 0x80, data: Buffer.from('00010002', 'hex') };
/** Cilium's own DSR option: the same class as dsrlb's, type 1 (not critical), the same payload. */
const CILIUM_DSR: GeneveOption = { ...dsrOption(Addr.vip, 80), type: 0x01 };

const foreign: [string, Buffer][] = [
  ['no options (a plain overlay)', geneve({ vni: 42 })],
  ['an option of another class (OVN\'s 0x0102, critical)', geneve({ vni: 7, options: [OVN_OPTION] })],
  ['Cilium\'s DSR option (dsrlb\'s class, another type)', geneve({ options: [CILIUM_DSR] })],
  ['no options, from an address that is no node', geneve({}, inner(), { src: Addr.stranger })],
  ['no options, to a pod no frontend leads to', geneve({}, inner('10.244.3.7', 80))],
];

for (const [what, frame] of foreign) {
  test(`Geneve that is not dsrlb's passes to the stack byte for byte: ${what}`, (t) => {
    const dp = backendNode(t);
    const r = dp.runXdp(frame);
    t.is(r.retval, XdpAction.PASS);
    t.deepEqual(r.out, frame);
    t.deepEqual(dp.nonZeroStats(), { PASS_GENEVE_FOREIGN: 1 });
    t.deepEqual(dp.maps.dsrRevnat.entries(), [[earlier.key, earlier.value]]);
  });
}

const forged: [string, Buffer, string][] = [
  ['the option names an address that is no frontend', geneve({ options: [dsrOption('203.0.113.99', 80)] }), 'DROP_GENEVE_NOT_FRONTEND'],
  ['the option names a frontend port that does not exist', geneve({ options: [dsrOption(Addr.vip, 8443)] }), 'DROP_GENEVE_NOT_FRONTEND'],
  ['the frontend is TCP, the inner packet UDP', geneve({ options: [dsrOption(Addr.vip, 80)] }, inner(Addr.pod, 8080, 'udp')), 'DROP_GENEVE_NOT_FRONTEND'],
  ['the SNAT marker names no frontend', geneve({ options: [snatOption('203.0.113.99', 80)] }), 'DROP_GENEVE_NOT_FRONTEND'],
  ['a NodePort of an address that is no node', geneve({ options: [dsrOption('198.51.100.77', NODE_PORT)] }), 'DROP_GENEVE_NOT_FRONTEND'],
  ['the inner destination is a local backend of another frontend', geneve({ options: [dsrOption(Addr.vip, 80)] }, inner(Addr.pod2, 9090)), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
  ['the inner destination is a local pod on a port no backend has', geneve({ options: [dsrOption(Addr.vip, 80)] }, inner(Addr.pod, 22)), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
  ['the inner destination is a backend of the frontend on another node', geneve({ options: [dsrOption(Addr.vip, 80)] }, inner(Addr.pod2, 8080)), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
  ['the inner destination is outside the node (an open relay)', geneve({ options: [dsrOption(Addr.vip, 80)] }, inner('192.0.2.80', 53)), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
  ['the SNAT marker with an inner destination outside the node', geneve({ options: [snatOption(Addr.vip, 80)] }, inner('192.0.2.80', 53)), 'DROP_GENEVE_NOT_LOCAL_BACKEND'],
];

for (const [what, frame, stat] of forged) {
  test(`forged dsrlb Geneve from a node address is dropped, counted and writes nothing: ${what}`, (t) => {
    const dp = backendNode(t);
    t.is(dp.runXdp(frame).retval, XdpAction.DROP);
    t.deepEqual(dp.nonZeroStats(), { [stat]: 1 });
    t.deepEqual(dp.maps.dsrRevnat.entries(), [[earlier.key, earlier.value]]);
  });
}

test('a NodePort of another node stands for this node\'s NodePort on the same port', (t) => {
  const dp = backendNode(t);
  const r = dp.runXdp(geneve({ options: [dsrOption(Addr.backendNode, NODE_PORT)] }));
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(dp.maps.dsrRevnatNew.lookup({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }),
    { address: Addr.backendNode, port: NODE_PORT });
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 1 });
});

test('--geneve-port: dsrlb\'s Geneve is expected on that port, sent to it, and 6081 is anybody\'s', (t) => {
  const dp = backendNode(t, { genevePort: 7081 });
  const onDefault = geneve({ options: [dsrOption(Addr.vip, 80)] });
  const r = dp.runXdp(onDefault);
  t.is(r.retval, XdpAction.PASS);
  t.deepEqual(r.out, onDefault);
  t.deepEqual(dp.nonZeroStats(), { PASS_NOT_SERVICE: 1 });

  t.is(dp.runXdp(geneve({ options: [dsrOption(Addr.vip, 80)] }, inner(), { dport: 7081 })).retval, XdpAction.PASS);
  t.is(dp.stat('PASS_DECAP'), 1n);

  // As the LB node: a client flow to the backend on the other node leaves on that port.
  dp.setService({ serviceId: 4, backends: [12], port: 82 });
  const out = dp.runXdp(clientTcp({ dport: 82, flags: { syn: true } }));
  t.is(out.retval, XdpAction.TX);
  t.is(decodeFrame(out.out, { genevePort: 7081 }).udp?.dport, 7081);
});

test('a verified flow skips the checks while the epoch stands; once the control plane bumps it, a backend removed since is refused', (t) => {
  const dp = backendNode(t);
  const frame = geneve({ options: [dsrOption(Addr.vip, 80)] });
  t.is(dp.runXdp(frame).retval, XdpAction.PASS);

  // The backend goes from lb4_local_backends; until the epoch moves, the flow's stamp vouches for it.
  for (const [k] of dp.maps.localBackends.entries()) if (k.address === Addr.pod) dp.maps.localBackends.delete(k);
  t.is(dp.runXdp(frame).retval, XdpAction.PASS);
  dp.setConfig({ localEpoch: 2 });
  t.is(dp.runXdp(frame).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { PASS_DECAP: 2, DROP_GENEVE_NOT_LOCAL_BACKEND: 1 });
});

test('epoch 0 verifies every packet', (t) => {
  const dp = backendNode(t, { localEpoch: 0 });
  const frame = geneve({ options: [dsrOption(Addr.vip, 80)] });
  t.is(dp.runXdp(frame).retval, XdpAction.PASS);
  for (const [k] of dp.maps.localBackends.entries()) if (k.address === Addr.pod) dp.maps.localBackends.delete(k);
  t.is(dp.runXdp(frame).retval, XdpAction.DROP);
});
