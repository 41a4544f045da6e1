/**
 * Node addresses and labels: this node's, for planning, and a backend's node,
 * for the Geneve outer destination (the reconcile layer uses nodeAddressForFamily).
 */
import type { ClusterState, V1Node } from '../api/types.js';
import { parseIp } from '../net/ip.js';
import type { IPFamily, PlanNode } from './types.js';

export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';

/**
 * The node's host IPs like kube-proxy's GetNodeHostIPs: the first InternalIP
 * (ExternalIP when there is none), then the first address of the other family.
 */
export function nodeHostAddresses(node: V1Node | undefined): string[] {
  const all: string[] = [];
  for (const type of ['InternalIP', 'ExternalIP']) {
    for (const a of node?.status?.addresses ?? []) {
      const ip = a.type === type ? parseIp(a.address) : null;
      if (ip) all.push(ip.address);
    }
  }
  const first = all[0];
  if (first === undefined) return [];
  const firstFamily = parseIp(first)?.family;
  const other = all.find((a) => parseIp(a)?.family !== firstFamily);
  return other === undefined ? [first] : [first, other];
}

/** The address a backend on `node` is reached at in `family` (InternalIP first), or null. */
export function nodeAddressForFamily(node: V1Node | undefined, family: IPFamily): string | null {
  return nodeHostAddresses(node).find((a) => parseIp(a)?.family === family) ?? null;
}

/**
 * Fills what the caller did not give from this node's Node object, as
 * kube-proxy does: addresses from its host IPs, the zone from its labels.
 */
export function resolvePlanNode(state: ClusterState, given: { name: string; addresses?: readonly string[]; zone?: string }): PlanNode {
  const node = state.nodes.get(given.name);
  const labels = node?.metadata?.labels ?? {};
  const addresses = given.addresses && given.addresses.length > 0 ? [...given.addresses] : nodeHostAddresses(node);
  const zone = given.zone ?? labels[LABEL_TOPOLOGY_ZONE];
  return { name: given.name, addresses, ...(zone !== undefined ? { zone } : {}), labels };
}
