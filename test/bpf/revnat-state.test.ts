/**
 * Reverse-NAT state that floods cannot evict (docs/datapath.md "Reverse-NAT
 * state"): a client packet delivered here writes the unconfirmed table; the
 * pod's first segment after its handshake promotes the entry to the
 * established one; a pod's RST deletes it, its FIN moves it back for good;
 * a local backend's reply without an entry is counted and, when its backend
 * serves one frontend only, still leaves from it.
 */
import test, { type ExecutionContext } from 'ava';
import { DSRLB_MAX_DSR_REVNAT_NEW } from '../../src/bpf/index.js';
import { buildFrame, buildGeneveFrame, dsrOption, type TcpFlags } from '../../src/packet/index.js';
import { Reconciler } from '../../src/reconcile/index.js';
import { be, fe, input } from '../fixtures/reconcile-plans.js';
import { Addr, Datapath, Mac, NodeId, Proto, TcAction, XdpAction } from '../helpers/datapath.js';

const POD_PORT = 8080;

/** This node as a backend node: VIP:80 is a frontend, Addr.pod:8080 a backend of it here. */
function backendNode(t: ExecutionContext): Datapath {
  const dp = Datapath.open(t);
  dp.addBackend({ id: 11, address: Addr.pod, port: POD_PORT, nodeId: NodeId.lb });
  dp.setService({ serviceId: 1, backends: [11] });
  dp.addLocalBackend({ address: Addr.pod, port: POD_PORT, serviceId: 1 });
  return dp;
}

/** The client's segment (client port `cport`) as an LB node sends it here in Geneve. */
function fromClient(cport: number, flags: TcpFlags, client: string = Addr.client): Buffer {
  const inner = buildFrame({
    eth: { src: Mac.router, dst: '02:00:00:00:00:99' },
    ip: { src: client, dst: Addr.pod, id: 7 },
    tcp: { sport: cport, dport: POD_PORT, seq: 1000, ack: flags.ack ? 5001 : 0, flags },
  });
  return buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src: Addr.backendNode, dst: Addr.lbNode, ttl: 64 },
    sport: 51234,
    geneve: { options: [dsrOption(Addr.vip, 80)] },
    inner,
  });
}

/** The pod's segment to the client's port `cport`. */
function fromPod(cport: number, flags: TcpFlags, src: string = Addr.pod, sport = POD_PORT, client: string = Addr.client): Buffer {
  return buildFrame({
    eth: { src: Mac.nic, dst: Mac.router }, ip: { src, dst: client, id: 99 },
    tcp: { sport, dport: cport, seq: 5000, ack: 1001, flags, ...(flags.psh ? { payload: Buffer.from('hello') } : {}) },
  });
}

function replyKey(cport: number, client: string = Addr.client) {
  return { saddr: Addr.pod, daddr: client, sport: POD_PORT, dport: cport, proto: Proto.TCP, flags: 0 };
}

/** Where a connection's entry is. */
function where(dp: Datapath, cport: number, client?: string): 'established' | 'unconfirmed' | 'none' {
  if (dp.maps.dsrRevnat.lookup(replyKey(cport, client))) return 'established';
  return dp.maps.dsrRevnatNew.lookup(replyKey(cport, client)) ? 'unconfirmed' : 'none';
}

/** The pod's segment left from the frontend. */
function leftFromVip(t: ExecutionContext, r: { retval: number; out: Buffer }): void {
  t.is(r.retval, TcAction.UNSPEC);
  t.is(r.out.subarray(26, 30).join('.'), Addr.vip);
  t.is(r.out.readUInt16BE(34), 80);
}

/** A real connection: SYN, SYN-ACK, ACK, the pod's data. */
function connect(dp: Datapath, cport: number, client?: string): void {
  dp.runXdp(fromClient(cport, { syn: true }, client));
  dp.runTc(fromPod(cport, { syn: true, ack: true }, Addr.pod, POD_PORT, client));
  dp.runXdp(fromClient(cport, { ack: true }, client));
  dp.runTc(fromPod(cport, { ack: true, psh: true }, Addr.pod, POD_PORT, client));
}

test('a connection is unconfirmed until the pod sends a segment after its handshake, then established', (t) => {
  const dp = backendNode(t);
  t.is(dp.runXdp(fromClient(40000, { syn: true })).retval, XdpAction.PASS);
  t.is(where(dp, 40000), 'unconfirmed');

  leftFromVip(t, dp.runTc(fromPod(40000, { syn: true, ack: true })));
  t.is(where(dp, 40000), 'unconfirmed', 'a SYN-ACK proves nothing: the pod answers any SYN');

  dp.runXdp(fromClient(40000, { ack: true }));
  t.is(where(dp, 40000), 'unconfirmed', 'client packets never promote');

  leftFromVip(t, dp.runTc(fromPod(40000, { ack: true, psh: true })));
  t.is(where(dp, 40000), 'established');
  t.is(dp.stat('REVNAT_PROMOTED'), 1n);

  // From now on both directions find it established (one lookup), and later packets write nothing.
  dp.runXdp(fromClient(40000, { ack: true }));
  t.is(where(dp, 40000), 'established');
  t.is(dp.maps.dsrRevnatNew.lookup(replyKey(40000)), undefined);
  leftFromVip(t, dp.runTc(fromPod(40000, { ack: true })));
  t.is(dp.stat('REVNAT_PROMOTED'), 1n);
});

test('a SYN then a bogus ACK: the pod answers SYN-ACK then RST, and the entry goes without ever being established', (t) => {
  const dp = backendNode(t);
  dp.runXdp(fromClient(40001, { syn: true }));
  leftFromVip(t, dp.runTc(fromPod(40001, { syn: true, ack: true })));
  dp.runXdp(fromClient(40001, { ack: true }));
  leftFromVip(t, dp.runTc(fromPod(40001, { rst: true })));
  t.is(where(dp, 40001), 'none');
  t.is(dp.stat('REVNAT_PROMOTED'), 0n);
  t.is(dp.stat('REVNAT_CLOSED'), 1n);
});

test('the pod\'s FIN takes a connection out of the established table for good; its RST deletes it', (t) => {
  const dp = backendNode(t);
  connect(dp, 40002);
  t.is(where(dp, 40002), 'established');
  leftFromVip(t, dp.runTc(fromPod(40002, { fin: true, ack: true })));
  t.is(where(dp, 40002), 'unconfirmed');
  // The last ACKs of the close still leave from the frontend, and never promote it again.
  dp.runXdp(fromClient(40002, { fin: true, ack: true }));
  leftFromVip(t, dp.runTc(fromPod(40002, { ack: true })));
  t.is(where(dp, 40002), 'unconfirmed');

  connect(dp, 40003);
  leftFromVip(t, dp.runTc(fromPod(40003, { rst: true })));
  t.is(where(dp, 40003), 'none');
  t.is(dp.stat('REVNAT_PROMOTED'), 2n);
  t.is(dp.stat('REVNAT_CLOSED'), 2n);
});

test.serial('a flood of unconfirmed tuples four times the table\'s size evicts no established connection', (t) => {
  const dp = backendNode(t);
  const quiet = Array.from({ length: 50 }, (_, i) => 30000 + i);
  for (const p of quiet) connect(dp, p);
  t.true(quiet.every((p) => where(dp, p) === 'established'));

  // Each flood tuple as the lab's attacker sends it: a SYN, then an ACK, from spoofed clients.
  const flood = DSRLB_MAX_DSR_REVNAT_NEW * 4;
  for (let i = 0; i < flood; i++) {
    const client = `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;
    dp.runXdp(fromClient(1024 + (i % 60000), { syn: true }, client));
    dp.runXdp(fromClient(1024 + (i % 60000), { ack: true }, client));
  }
  const unconfirmed = dp.maps.dsrRevnatNew.entries().length;
  t.log({ flood, unconfirmed, established: dp.maps.dsrRevnat.entries().length });
  t.true(unconfirmed <= DSRLB_MAX_DSR_REVNAT_NEW, 'the flood stays in its own table');
  t.true(unconfirmed > DSRLB_MAX_DSR_REVNAT_NEW / 2, 'and fills it');

  // Every quiet connection is still there, and its next reply leaves from the frontend.
  t.deepEqual(quiet.filter((p) => where(dp, p) !== 'established'), []);
  for (const p of quiet) leftFromVip(t, dp.runTc(fromPod(p, { ack: true, psh: true })));
  t.is(dp.stat('REVNAT_MISS_UNKNOWN') + dp.stat('REVNAT_MISS_REWRITTEN'), 0n);
});

test('a local backend\'s reply without an entry is counted; rewritten from its only frontend, left alone when it has none', (t) => {
  const dp = backendNode(t);
  const key = { address: Addr.pod, port: POD_PORT, proto: Proto.TCP };

  // Not a local backend: not dsrlb's packet, not counted.
  const stranger = fromPod(40010, { ack: true }, Addr.pod2, 9999);
  t.deepEqual(dp.runTc(stranger).out, stranger);
  t.deepEqual(dp.nonZeroStats(), {});

  dp.maps.backendFrontends.update(key, { address: '0.0.0.0', port: 0 });
  const lost = fromPod(40010, { ack: true, psh: true });
  t.deepEqual(dp.runTc(lost).out, lost);
  t.deepEqual(dp.nonZeroStats(), { REVNAT_MISS_UNKNOWN: 1 });

  dp.maps.backendFrontends.update(key, { address: Addr.vip, port: 80 });
  const r = dp.runTc(lost);
  leftFromVip(t, r);
  t.deepEqual(r.out, fromPod(40010, { ack: true, psh: true }, Addr.vip, 80));
  t.deepEqual(dp.nonZeroStats(), { REVNAT_MISS_UNKNOWN: 1, REVNAT_MISS_REWRITTEN: 1, REVNAT_REWRITE: 1 });
  t.is(where(dp, 40010), 'none', 'a fallback rewrite creates no state');
});

test('the reconciler names a backend\'s only frontend; a backend of two frontends gets none, and its lost replies stay as they are', (t) => {
  const dp = backendNode(t);
  const r = Reconciler.open({ bpffsRoot: dp.pinRoot, revnatFallback: true });
  t.teardown(() => r.close());
  const only = be(Addr.pod, 'node-a', POD_PORT);
  const shared = be(Addr.pod2, 'node-a', POD_PORT);
  r.sync(input([
    fe({ service: 'default/one', kind: 'LoadBalancer', address: Addr.vip, backends: [only] }),
    fe({ service: 'default/two', kind: 'LoadBalancer', address: '203.0.113.20', backends: [shared] }),
    fe({ service: 'default/two', kind: 'LoadBalancer', address: '203.0.113.21', backends: [shared] }),
  ]));
  t.deepEqual(dp.maps.backendFrontends.lookup({ address: Addr.pod, port: POD_PORT, proto: Proto.TCP }), { address: Addr.vip, port: 80 });
  t.deepEqual(dp.maps.backendFrontends.lookup({ address: Addr.pod2, port: POD_PORT, proto: Proto.TCP }), { address: '0.0.0.0', port: 0 });

  leftFromVip(t, dp.runTc(fromPod(40020, { ack: true, psh: true })));
  const lost = fromPod(40020, { ack: true, psh: true }, Addr.pod2);
  t.deepEqual(dp.runTc(lost).out, lost);
  t.deepEqual(dp.nonZeroStats(), { REVNAT_MISS_REWRITTEN: 1, REVNAT_MISS_UNKNOWN: 1, REVNAT_REWRITE: 1 });

  // The second frontend goes: the backend now has one, and its replies get it.
  r.sync(input([
    fe({ service: 'default/one', kind: 'LoadBalancer', address: Addr.vip, backends: [only] }),
    fe({ service: 'default/two', kind: 'LoadBalancer', address: '203.0.113.20', backends: [shared] }),
  ]));
  t.deepEqual(dp.maps.backendFrontends.lookup({ address: Addr.pod2, port: POD_PORT, proto: Proto.TCP }), { address: '203.0.113.20', port: 80 });
  r.sync(input([]));
  t.deepEqual(dp.maps.backendFrontends.entries(), []);
});
