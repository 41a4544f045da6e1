/**
 * Scenarios 2 and 3: which links a large download through the VIP crosses.
 * DSR: node-a only forwards the client's direction (requests, ACKs), node-b
 * sends the response from the VIP straight to the client. SNAT: the pod sees
 * node-a's address and the response comes back through node-a.
 */
import test from 'ava';
import { dsrRevnatEntries, nodeStats, statsDelta } from '../../src/lab/datapath-view.js';
import { LAB_HTTP_PORT, LAB_VIP } from '../../src/lab/manifests.js';
import { downloadUrl, human, MB, measurePaths, VIP_URL } from '../../src/lab/probes.js';
import { sharedLab } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr', service: { onlyNodes: ['node-b'] } });
const BYTES = 64 * MB;

test.serial('DSR: a download served on node-b leaves node-b from the VIP and never crosses node-a', async (t) => {
  const l = lab();
  const nodeB = l.node('node-b');
  const statsBefore = nodeStats(l.topo, nodeB);
  const r = await measurePaths(l, () => l.client({ op: 'download', url: downloadUrl(BYTES) }));
  const a = r.nodes['node-a'];
  const b = r.nodes['node-b'];
  const c = r.nodes['node-c'];
  t.log(`download: ${JSON.stringify(r.result)}`);
  t.log(`node-a rx ${human(a?.rxBytes ?? 0)} tx ${human(a?.txBytes ?? 0)}; node-b rx ${human(b?.rxBytes ?? 0)} tx ${human(b?.txBytes ?? 0)}; client rx ${human(r.client.rxBytes)}`);

  t.is(r.result.error, undefined);
  t.is(r.result.bytes, BYTES);
  t.is(r.result.pod, 'web-b1');
  t.is(r.result.client?.split(':')[0], l.topo.client.address, 'the pod saw the client');
  // The response: out of node-b, into the client.
  t.true((b?.txBytes ?? 0) >= BYTES, 'node-b sent the response');
  t.true(r.client.rxBytes >= BYTES);
  // node-a carried the client's direction only: requests and ACKs, a few percent of the response.
  t.true((a?.rxBytes ?? 0) + (a?.txBytes ?? 0) < BYTES / 20, 'the response did not cross node-a');
  t.true((c?.rxBytes ?? 0) + (c?.txBytes ?? 0) < MB, 'nor node-c');
  // The client's socket is connected to VIP:80 and took every byte, so they came from the VIP;
  // node-b's tc program rewrote them there, from the reverse-NAT entry its XDP program recorded.
  const entries = dsrRevnatEntries(l.topo, nodeB).filter((e) => e.client.startsWith(`${l.topo.client.address}:`));
  t.log(entries);
  t.true(entries.some((e) => e.pod === `${nodeB.pods[0]?.address}:8080` && e.frontend === `${LAB_VIP}:${LAB_HTTP_PORT}`));
  const stats = statsDelta(statsBefore, nodeStats(l.topo, nodeB));
  t.log(`node-b datapath: ${JSON.stringify(stats)}`);
  t.true((stats['revnat_rewrite'] ?? 0) > 0);
  t.true((stats['pass_decap'] ?? 0) > 0);
});

test.serial('SNAT mode: the pod sees node-a\'s address and the response returns through node-a', async (t) => {
  const l = lab();
  await l.setMode('snat');
  const nodeA = l.node('node-a');
  const [answer] = await l.client({ op: 'get', url: VIP_URL, count: 1 });
  t.log(answer);
  t.is(answer?.answer?.pod, 'web-b1');
  t.is(answer?.answer?.remoteAddress, nodeA.address);

  const bytes = 32 * MB;
  const r = await measurePaths(l, () => l.client({ op: 'download', url: downloadUrl(bytes) }));
  const a = r.nodes['node-a'];
  t.log(`download: ${JSON.stringify(r.result)}; node-a rx ${human(a?.rxBytes ?? 0)} tx ${human(a?.txBytes ?? 0)}`);
  t.is(r.result.error, undefined);
  t.is(r.result.bytes, bytes);
  t.true((a?.rxBytes ?? 0) >= bytes, 'the response came into node-a from node-b');
  t.true((a?.txBytes ?? 0) >= bytes, 'and left node-a for the client');
});
