/**
 * Creates and removes the lab's namespaces and links. Creation is all or
 * nothing: any failure removes what was made and names the step that failed.
 */
import { DsrlbError } from '../errors.js';
import { nsRun, run } from './sh.js';
import { NODE_PREFIX_LEN, VIP_SUBNET, type LabNode, type LabTopology } from './topology.js';

export type Progress = (line: string) => void;

const LINK_QDISC = 'pfifo_fast';

/**
 * A veth that stands for a physical link is made to behave like a NIC:
 * - TX checksum offload off: the kernel completes checksums before an XDP
 *   program rewrites the frame (docs/design.md §7);
 * - GRO on, which puts the veth's receive side in NAPI mode (a NIC's): its
 *   peer hands frames over through a ring instead of the per-CPU backlog,
 *   which overflows (softnet drops) at a few Gbit/s on two CPUs;
 * - a queue (pfifo_fast, a NIC's default; a veth has none), so a full ring
 *   pushes back instead of dropping (tx_dropped, then TCP retransmits).
 * Measured here: 4 iperf3 streams through the VIP went from ~17,000
 * retransmits in 5 s to ~100.
 */
function physicalLink(ns: string, dev: string): void {
  nsRun(ns, 'ethtool', ['-K', dev, 'tx', 'off', 'gro', 'on']);
  nsRun(ns, 'tc', ['qdisc', 'replace', 'dev', dev, 'root', LINK_QDISC]);
}

function sysctls(ns: string, values: Record<string, string>): void {
  for (const [k, v] of Object.entries(values)) nsRun(ns, 'sysctl', ['-qw', `${k}=${v}`]);
}

function addNs(ns: string): void {
  run('ip', ['netns', 'add', ns]);
  nsRun(ns, 'ip', ['link', 'set', 'lo', 'up']);
}

/** A veth between two namespaces, created with its final names in place. */
function veth(nsA: string, ifA: string, nsB: string, ifB: string): void {
  run('ip', ['link', 'add', ifA, 'netns', nsA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
  nsRun(nsA, 'ip', ['link', 'set', ifA, 'up']);
  nsRun(nsB, 'ip', ['link', 'set', ifB, 'up']);
}

function plugIntoFabric(topo: LabTopology, ns: string, uplink: string, port: string, address: string): void {
  veth(ns, uplink, topo.fabricNs, port);
  nsRun(topo.fabricNs, 'ip', ['link', 'set', port, 'master', topo.bridge]);
  nsRun(ns, 'ip', ['addr', 'add', `${address}/${NODE_PREFIX_LEN}`, 'dev', uplink]);
  physicalLink(ns, uplink);
  physicalLink(topo.fabricNs, port);
}

function buildNode(topo: LabTopology, node: LabNode): void {
  addNs(node.ns);
  sysctls(node.ns, { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' });
  plugIntoFabric(topo, node.ns, node.uplink, node.fabricPort, node.address);
  nsRun(node.ns, 'sysctl', ['-qw', `net.ipv4.conf.${node.uplink}.rp_filter=0`]);
  for (const pod of node.pods) {
    addNs(pod.ns);
    veth(node.ns, pod.hostIf, pod.ns, 'eth0');
    // Point-to-point pod links: the node answers for .1 on each, routes the pod's /32 to it.
    nsRun(node.ns, 'ip', ['addr', 'add', `${node.podGateway}/32`, 'dev', pod.hostIf]);
    nsRun(node.ns, 'ip', ['route', 'add', `${pod.address}/32`, 'dev', pod.hostIf]);
    nsRun(pod.ns, 'ip', ['addr', 'add', `${pod.address}/32`, 'dev', 'eth0']);
    nsRun(pod.ns, 'ip', ['route', 'add', `${node.podGateway}/32`, 'dev', 'eth0']);
    nsRun(pod.ns, 'ip', ['route', 'add', 'default', 'via', node.podGateway, 'dev', 'eth0']);
  }
  for (const other of topo.nodes) {
    if (other !== node) nsRun(node.ns, 'ip', ['route', 'add', other.podCidr, 'via', other.address]);
  }
}

export function createLab(topo: LabTopology, progress: Progress = () => undefined): void {
  let step = 'fabric';
  try {
    progress(`creating the fabric (${topo.fabricNs})`);
    addNs(topo.fabricNs);
    nsRun(topo.fabricNs, 'ip', ['link', 'add', topo.bridge, 'type', 'bridge']);
    nsRun(topo.fabricNs, 'ip', ['link', 'set', topo.bridge, 'up']);
    step = 'client';
    progress(`creating the client ${topo.client.address}`);
    addNs(topo.client.ns);
    plugIntoFabric(topo, topo.client.ns, topo.client.uplink, topo.client.fabricPort, topo.client.address);
    const first = topo.nodes[0];
    if (!first) throw new RangeError('a lab needs at least one node');
    // The client reaches every VIP through node-a, as an upstream router would hand it over.
    nsRun(topo.client.ns, 'ip', ['route', 'add', VIP_SUBNET, 'via', first.address]);
    for (const node of topo.nodes) {
      step = node.name;
      progress(`creating ${node.name} ${node.address} with pods ${node.pods.map((p) => p.address).join(', ')}`);
      buildNode(topo, node);
    }
  } catch (e) {
    destroyLab(topo.prefix);
    throw new DsrlbError('ERR_LAB_UP', `creating the lab failed at step '${step}'`, {
      remedy: 'check that you are root and that iproute2 and ethtool are installed (make deps)', cause: e,
      context: { detail: e instanceof Error ? e.message : String(e) },
    });
  }
}

/** Every namespace whose name starts with `prefix`, as `ip netns list` shows them. */
export function labNamespaces(prefix: string): string[] {
  return run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix));
}

/** Deleting a namespace deletes its veths; the fabric goes last. Idempotent. */
export function destroyLab(prefix: string): number {
  const names = labNamespaces(prefix);
  for (const ns of names) {
    try { run('ip', ['netns', 'pids', ns]).split('\n').filter(Boolean).forEach((pid) => { try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ } }); } catch { /* no pids */ }
  }
  for (const ns of names) run('ip', ['netns', 'del', ns]);
  return names.length;
}
