/**
 * Link capacity in the lab: a token bucket (tc tbf) on both ends of a node's
 * uplink veth stands for a slower NIC. The node's own end shapes what its
 * stack sends; the fabric end shapes what the node receives, so traffic the
 * node forwards crosses the cap on the way in even when it leaves through
 * XDP_TX (which bypasses the node's own qdisc).
 */
import { nsRun } from './sh.js';
import type { LabNode, LabTopology } from './topology.js';

export interface LinkCap {
  readonly mbit: number;
}

/** Bucket of at least 64 KiB so a 64 KiB GSO segment is never dropped outright; about 20 ms of queue. */
function tbfArgs(dev: string, mbit: number): string[] {
  const burstBytes = Math.max(64 * 1024, Math.round((mbit * 1e6) / 8 / 250));
  return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', String(burstBytes), 'latency', '20ms'];
}

export function capLink(topo: LabTopology, node: LabNode, cap: LinkCap): void {
  nsRun(node.ns, 'tc', tbfArgs(node.uplink, cap.mbit));
  nsRun(topo.fabricNs, 'tc', tbfArgs(node.fabricPort, cap.mbit));
}
