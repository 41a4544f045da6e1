/**
 * Socket LB in the lab: processes of a node (the node itself, or a pod on
 * it) run in that node's cgroup, where its agent attached the socket LB. A
 * ClusterIP or a NodePort of another node is translated at connect/sendmsg
 * to a pod address, and the packets go pod to pod over the routed pod CIDRs:
 * no VIP on the wire, no Geneve.
 */
import test from 'ava';
import type { TcpResult, UdpReply } from '../../src/lab/socket-client.js';
import { LAB_CLUSTER_IP, LAB_HTTP_PORT, LAB_NODE_PORT, LAB_UDP_PORT } from '../../src/lab/manifests.js';
import { podNode } from '../../src/lab/probes.js';
import { sharedLab, tally } from './_lab-fixture.js';

const lab = sharedLab(test, { nodes: 3, podsPerNode: 1, mode: 'dsr' });

function podA(): { ns: string; address: string } {
  const pod = lab().node('node-a').pods[0];
  if (!pod) throw new Error('no pod on node-a');
  return pod;
}

test.serial('a pod connects to the ClusterIP whose backends are all on other nodes: TCP and a DNS-like UDP exchange', async (t) => {
  const l = lab();
  await l.setService({ onlyNodes: ['node-b', 'node-c'] });
  const tcp = await l.onNode<TcpResult[]>('node-a', podA().ns, { op: 'tcp', host: LAB_CLUSTER_IP, port: LAB_HTTP_PORT, count: 12 });
  t.log(tally(tcp, (r) => (r.answer ? `${r.answer.pod} saw ${r.answer.remoteAddress}, peer ${r.peer}` : `error ${r.error}`)));
  t.true(tcp.every((r) => r.answer && ['node-b', 'node-c'].includes(podNode(l.topo, r.answer.pod))), 'answered by pods of other nodes');
  t.true(tcp.every((r) => r.peer === `${LAB_CLUSTER_IP}:${LAB_HTTP_PORT}`), 'getpeername shows the ClusterIP');
  t.true(tcp.every((r) => r.answer?.remoteAddress === podA().address), 'the backend sees the client pod');

  const udp = await l.onNode<UdpReply[]>('node-a', podA().ns, { op: 'udp', targets: [{ host: LAB_CLUSTER_IP, port: LAB_UDP_PORT }], rounds: 8 });
  t.log(tally(udp, (r) => (r.answer ? `${r.answer.pod} answered, from ${r.from}` : `error ${r.error}`)));
  t.true(udp.every((r) => r.answer && ['node-b', 'node-c'].includes(podNode(l.topo, r.answer.pod))));
  t.true(udp.every((r) => r.from === `${LAB_CLUSTER_IP}:${LAB_UDP_PORT}`), 'every reply from the ClusterIP');
});

test.serial('a pod connects to a NodePort on another node\'s address', async (t) => {
  const l = lab();
  await l.setService({});
  const nodeB = l.node('node-b').address;
  const tcp = await l.onNode<TcpResult[]>('node-a', podA().ns, { op: 'tcp', host: nodeB, port: LAB_NODE_PORT, count: 12 });
  t.log(tally(tcp, (r) => (r.answer ? `${r.answer.pod}, peer ${r.peer}` : `error ${r.error}`)));
  t.true(tcp.every((r) => r.answer !== undefined));
  t.true(tcp.every((r) => r.peer === `${nodeB}:${LAB_NODE_PORT}`));
});

test.serial('the node itself connects to the ClusterIP', async (t) => {
  const l = lab();
  const nodeA = l.node('node-a');
  const tcp = await l.onNode<TcpResult[]>('node-a', nodeA.ns, { op: 'tcp', host: LAB_CLUSTER_IP, port: LAB_HTTP_PORT, count: 12 });
  t.log(tally(tcp, (r) => (r.answer ? `${r.answer.pod} saw ${r.answer.remoteAddress}` : `error ${r.error}`)));
  t.true(tcp.every((r) => r.answer !== undefined), 'every connection answered');
  t.true(tcp.every((r) => r.peer === `${LAB_CLUSTER_IP}:${LAB_HTTP_PORT}`));
  t.true(new Set(tcp.map((r) => r.answer?.pod)).size >= 2, 'spread over the pods');
});
