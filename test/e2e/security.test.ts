/**
 * Scenario 9: what the datapath refuses. Geneve forged from the client's
 * network is dropped (only known nodes may send it); loadBalancerSourceRanges
 * are enforced at node-a; externalTrafficPolicy Local: the health-check node
 * port says 200 where a ready pod is local and 503 elsewhere, and traffic
 * only reaches local pods, with the client's address.
 */
import test from 'ava';
import { snmpCounters } from '../../src/lab/counters.js';
import { nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { LAB_HEALTH_CHECK_NODE_PORT, LAB_HTTP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { POD_UDP_PORT } from '../../src/lab/pod-server.js';
import { nodePortUrl, VIP_URL } from '../../src/lab/probes.js';
import { nsRun } from '../../src/lab/sh.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 2, mode: 'dsr' });

function mac(ns: string, dev: string): string {
  return (JSON.parse(nsRun(ns, 'ip', ['-j', 'link', 'show', 'dev', dev])) as { address: string }[])[0]?.address ?? '';
}

test.serial('Geneve packets forged from the client namespace are dropped by the node', async (t) => {
  const l = lab();
  const nodeB = l.node('node-b');
  const pod = nodeB.pods[0];
  if (!pod) throw new Error('no pod on node-b');
  const statsBefore = nodeStats(l.topo, nodeB);
  const podUdpBefore = snmpCounters(pod.ns)['Udp.InDatagrams'] ?? 0;
  const r = await l.client({
    op: 'forge-geneve', node: nodeB.address, pod: pod.address, podPort: POD_UDP_PORT, vip: LAB_VIP, vipPort: LAB_HTTP_PORT,
    count: 20, listenMs: 500, srcMac: mac(l.topo.client.ns, 'eth0'), dstMac: mac(nodeB.ns, nodeB.uplink),
  });
  const stats = statsDelta(statsBefore, nodeStats(l.topo, nodeB));
  const podUdp = (snmpCounters(pod.ns)['Udp.InDatagrams'] ?? 0) - podUdpBefore;
  t.log(`sent ${r.sent}, echoes ${r.echoes}; node-b datapath: ${JSON.stringify(stats)}; datagrams the pod received: ${podUdp}`);
  t.is(r.echoes, 0);
  t.is(podUdp, 0, 'nothing reached the pod');
  t.is(stats['drop_geneve_unknown_node'], r.sent, 'node-b dropped every forged packet as from an unknown node');
  t.is(stats['pass_decap'], undefined, 'none was decapsulated');
});

test.serial('loadBalancerSourceRanges: a client outside the ranges is dropped at node-a, inside is served', async (t) => {
  const l = lab();
  const nodeA = l.node('node-a');
  try {
    await l.setService({ loadBalancerSourceRanges: ['192.0.2.0/24'] });
    const before = nodeStats(l.topo, nodeA);
    const denied = await l.client({ op: 'get', url: VIP_URL, count: 3, timeoutMs: 1_000 });
    const stats = statsDelta(before, nodeStats(l.topo, nodeA));
    t.log(`outside 192.0.2.0/24: ${JSON.stringify(denied.map((r) => r.error ?? r.answer?.pod))}; node-a datapath: ${JSON.stringify(stats)}`);
    t.true(denied.every((r) => r.error !== undefined), 'no answer from outside the ranges');
    t.true((stats['drop_source_range'] ?? 0) >= 3, 'node-a dropped them for the source range');

    await l.setService({ loadBalancerSourceRanges: ['192.0.2.0/24', `${l.topo.client.address}/32`] });
    const allowed = await l.client({ op: 'get', url: VIP_URL, count: 6, timeoutMs: 2_000 });
    t.log(`inside: ${JSON.stringify(allowed.map((r) => r.error ?? r.answer?.pod))}`);
    t.true(allowed.every((r) => r.answer?.remoteAddress === l.topo.client.address));
  } finally {
    await l.setService({});
  }
});

test.serial('externalTrafficPolicy Local: health check 200 with local pods, 503 without; traffic only to local pods', async (t) => {
  const l = lab();
  try {
    // node-c keeps its pods running but none is an endpoint: it has no local endpoint.
    await l.setService({ externalTrafficPolicy: 'Local', without: ['web-c1', 'web-c2'] });
    const health: Record<string, number | string> = {};
    for (const n of l.topo.nodes) {
      const r = await l.client({ op: 'status', url: `http://${n.address}:${LAB_HEALTH_CHECK_NODE_PORT}/healthz` });
      health[n.name] = r.status ?? r.error ?? '?';
      t.log(`${n.name}: ${r.status ?? r.error} ${r.body?.trim() ?? ''}`);
    }
    t.deepEqual(health, { 'node-a': 200, 'node-b': 200, 'node-c': 503 });

    // The VIP enters at node-a: only node-a's pods.
    const viaA = await l.client({ op: 'spread', url: VIP_URL, count: 60, concurrency: 8 });
    t.log(`through the VIP (node-a): ${JSON.stringify(viaA.perPod)} ${JSON.stringify(viaA.errors)}`);
    t.deepEqual(viaA.errors, {});
    t.deepEqual(Object.keys(viaA.perPod).sort(), ['web-a1', 'web-a2']);
    t.deepEqual(Object.keys(viaA.remoteAddresses), [l.topo.client.address]);
    // node-b's NodePort: only node-b's pods.
    const viaB = await l.client({ op: 'spread', url: nodePortUrl(l.topo, 'node-b'), count: 30, concurrency: 8 });
    t.log(`through node-b's NodePort: ${JSON.stringify(viaB.perPod)} ${JSON.stringify(viaB.errors)}`);
    t.deepEqual(Object.keys(viaB.perPod).sort(), ['web-b1', 'web-b2']);
    // node-c has none: its NodePort serves nobody.
    const viaC = await l.client({ op: 'get', url: nodePortUrl(l.topo, 'node-c'), count: 3, timeoutMs: 1_000 });
    t.log(`through node-c's NodePort: ${JSON.stringify(viaC.map((r) => r.error ?? r.answer?.pod))}`);
    t.true(viaC.every((r) => r.answer === undefined));
  } finally {
    await l.setService({});
  }
});
