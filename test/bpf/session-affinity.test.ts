/**
 * sessionAffinity ClientIP (docs/design.md §1.1): every connection of a client
 * lands on one backend until the affinity times out; the Maglev hash leaves
 * the client port out so even a lost affinity entry picks the same backend.
 */
import test from 'ava';
import { decodeFrame, flowHash } from '../../src/packet/index.js';
import { Addr, clientTcp, Datapath, NodeId, Proto, SvcFlag } from '../helpers/datapath.js';

const MAGLEV_SIZE = 251;
const HOURS_3 = 10800;

function podOf(out: Buffer): string | undefined {
  return decodeFrame(out).geneve?.inner.ip?.dst;
}

function affinityService(dp: Datapath, timeout = HOURS_3): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other });
  dp.setService({ serviceId: 1, backends: [11, 12], flags: SvcFlag.AFFINITY, affinityTimeout: timeout });
}

/** The backend the affinity hash (no client port) picks: table slot s holds [11, 12][s % 2]. */
function hashed(): { id: number; pod: string } {
  const slot = flowHash({ src: Addr.client, dst: Addr.vip, sport: 0, dport: 80, proto: Proto.TCP }, false) % MAGLEV_SIZE;
  return slot % 2 === 0 ? { id: 11, pod: Addr.pod } : { id: 12, pod: Addr.pod2 };
}

test('every connection of a client goes to the backend its affinity names', (t) => {
  const dp = Datapath.open(t);
  affinityService(dp);
  const before = process.hrtime.bigint();
  for (let sport = 40000; sport < 40020; sport++) {
    t.is(podOf(dp.runXdp(clientTcp({ sport, flags: { syn: true } })).out), hashed().pod, `sport ${sport}`);
  }
  const a = dp.maps.affinity.lookup({ client: Addr.client, serviceId: 1, netnsCookie: 0n });
  t.is(a?.backendId, hashed().id);
  // bpf_ktime_get_ns and process.hrtime share CLOCK_MONOTONIC.
  t.true((a?.lastUsedNs ?? 0n) >= before && (a?.lastUsedNs ?? 0n) <= process.hrtime.bigint());
});

test('an unexpired affinity entry wins over the hash', (t) => {
  const dp = Datapath.open(t);
  affinityService(dp);
  const other = hashed().id === 11 ? { id: 12, pod: Addr.pod2 } : { id: 11, pod: Addr.pod };
  dp.maps.affinity.update({ client: Addr.client, serviceId: 1, netnsCookie: 0n }, { lastUsedNs: process.hrtime.bigint(), backendId: other.id, backendGeneration: 1 });

  t.is(podOf(dp.runXdp(clientTcp({ sport: 45000, flags: { syn: true } })).out), other.pod);
});

test('an expired affinity entry is replaced by the hash choice', (t) => {
  const dp = Datapath.open(t);
  affinityService(dp, 1);
  const other = hashed().id === 11 ? 12 : 11;
  dp.maps.affinity.update({ client: Addr.client, serviceId: 1, netnsCookie: 0n }, { lastUsedNs: process.hrtime.bigint() - 2_000_000_000n, backendId: other, backendGeneration: 1 });

  t.is(podOf(dp.runXdp(clientTcp({ sport: 45000, flags: { syn: true } })).out), hashed().pod);
  t.is(dp.maps.affinity.lookup({ client: Addr.client, serviceId: 1, netnsCookie: 0n })?.backendId, hashed().id);
});

test('affinity to a terminating backend is not used for a new connection', (t) => {
  const dp = Datapath.open(t);
  affinityService(dp);
  const other = hashed().id === 11 ? 12 : 11;
  dp.addBackend({ id: other, address: other === 11 ? Addr.pod : Addr.pod2, port: 8080, nodeId: NodeId.backend, terminating: true });
  dp.setMaglev(1, Array.from({ length: MAGLEV_SIZE }, () => hashed().id));
  dp.maps.affinity.update({ client: Addr.client, serviceId: 1, netnsCookie: 0n }, { lastUsedNs: process.hrtime.bigint(), backendId: other, backendGeneration: 1 });

  t.is(podOf(dp.runXdp(clientTcp({ sport: 45000, flags: { syn: true } })).out), hashed().pod);
  t.is(dp.maps.affinity.lookup({ client: Addr.client, serviceId: 1, netnsCookie: 0n })?.backendId, hashed().id);
});

test('an affinity entry naming an older generation of its backend id is not used', (t) => {
  const dp = Datapath.open(t);
  affinityService(dp);
  const other = hashed().id === 11 ? { id: 12, pod: Addr.pod2 } : { id: 11, pod: Addr.pod };
  dp.addBackend({ id: other.id, address: other.pod, port: 8080, nodeId: NodeId.backend, generation: 2 });
  dp.maps.affinity.update({ client: Addr.client, serviceId: 1, netnsCookie: 0n }, { lastUsedNs: process.hrtime.bigint(), backendId: other.id, backendGeneration: 1 });

  t.is(podOf(dp.runXdp(clientTcp({ sport: 45000, flags: { syn: true } })).out), hashed().pod);
  t.like(dp.maps.affinity.lookup({ client: Addr.client, serviceId: 1, netnsCookie: 0n }), { backendId: hashed().id, backendGeneration: 1 });
});
