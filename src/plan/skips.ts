/**
 * What the plan leaves out on purpose, as kube-proxy does, said out loud for
 * `lbctl plan`: Services not proxied at all, load balancer ingress entries
 * that get no frontend, SCTP frontends the datapath passes unbalanced, and a
 * node name no Node object has. Pure; separate from the plan's own warnings
 * so the agent, which re-plans on every change, does not repeat them.
 */
import type { ClusterState, V1Service } from '../api/types.js';
import { serviceKey, skipReason } from './services.js';
import type { PlanWarning } from './types.js';

/** Why each Service, or part of one, gets no (balanced) frontend. */
export function serviceSkips(svc: V1Service): PlanWarning[] {
  const service = serviceKey(svc);
  const out: PlanWarning[] = [];
  const reason = skipReason(svc);
  // A Service without any clusterIP is already named by the manifest reader (no API server allocates one there).
  if (reason === 'no cluster IP') return out;
  if (reason !== null) return [{ service, message: `not proxied: ${reason}, as by kube-proxy` }];
  const ingress = svc.spec?.type === 'LoadBalancer' ? (svc.status?.loadBalancer?.ingress ?? []) : [];
  ingress.forEach((ing, i) => {
    const at = `status.loadBalancer.ingress[${i}]`;
    if (ing.ip && ing.ipMode === 'Proxy') {
      out.push({ service, message: `${at}: ${ing.ip} has ipMode Proxy: no LoadBalancer frontend (the load balancer itself sends the traffic to the nodes), as by kube-proxy` });
    } else if (!ing.ip && ing.hostname) {
      out.push({ service, message: `${at}: only a hostname (${ing.hostname}): no LoadBalancer frontend (kube-proxy serves ingress IPs only)` });
    }
  });
  for (const p of svc.spec?.ports ?? []) {
    if (p.protocol === 'SCTP') {
      out.push({ service, message: `port ${p.name ? `${p.name} ` : ''}${p.port}/SCTP: planned, but the datapath passes SCTP packets to the node's own stack unbalanced (docs/datapath.md, Known limits)` });
    }
  }
  return out;
}

/** Every Service's skips, by Service name. */
export function planSkips(state: ClusterState): PlanWarning[] {
  const out: PlanWarning[] = [];
  for (const svc of state.services.values()) out.push(...serviceSkips(svc));
  return out.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
}

/** The node planned for is not among the Node objects (or there are none): its addresses and zone come from the flags alone. */
export function nodeNameWarning(state: ClusterState, nodeName: string): string | null {
  if (state.nodes.has(nodeName)) return null;
  if (state.nodes.size === 0) {
    return `no Node objects in the manifests: node ${nodeName}'s addresses (NodePort frontends) come from --node-address only, its zone from --zone`;
  }
  const known = [...state.nodes.keys()].sort();
  return `no Node object is named ${nodeName} (there are ${known.length}: ${known.slice(0, 5).join(', ')}${known.length > 5 ? ', ...' : ''}): `
    + 'endpoints on it are not local, and its addresses come from --node-address only';
}
