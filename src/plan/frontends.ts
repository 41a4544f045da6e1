/**
 * One service port's frontends on this node, each with the endpoints its
 * traffic policy selects (the proxier half of kube-proxy's syncProxyRules):
 * the cluster IP follows internalTrafficPolicy; NodePort, LoadBalancer and
 * external IPs follow externalTrafficPolicy.
 */
import type { Categorized } from './categorize.js';
import type { EndpointInfo } from './endpoints.js';
import { externallyAccessible, type ServicePortInfo } from './services.js';
import type { Backend, Frontend, FrontendKind, NoEndpointsAction, TrafficScope } from './types.js';

function backends(endpoints: readonly EndpointInfo[]): Backend[] {
  return endpoints.map((ep) => ({ address: ep.address, port: ep.port, nodeName: ep.nodeName, terminating: ep.terminating }));
}

interface PolicyResult { scope: TrafficScope; backends: Backend[]; action: NoEndpointsAction }

function policy(local: boolean, cat: Categorized): PolicyResult {
  const scope: TrafficScope = local ? 'Local' : 'Cluster';
  // No usable endpoint anywhere: reject (ICMP unreachable / RST), like kube-proxy.
  if (!cat.hasAnyEndpoints) return { scope, backends: [], action: 'reject' };
  if (local) {
    // Local policy and none here while other nodes have some: drop, so an
    // external LB's health check (or the client's retry) moves to another node.
    return cat.local.length > 0 ? { scope, backends: backends(cat.local), action: null } : { scope, backends: [], action: 'drop' };
  }
  return { scope, backends: backends(cat.cluster), action: null };
}

/**
 * @param nodeAddresses this node's canonical addresses of the port's family (NodePort frontends).
 */
export function buildFrontends(sp: ServicePortInfo, cat: Categorized, nodeAddresses: readonly string[]): Frontend[] {
  const internal = policy(sp.internalPolicyLocal, cat);
  // Most ports are reached through their cluster IP only: no external policy to work out then.
  const external = externallyAccessible(sp) ? policy(sp.externalPolicyLocal, cat) : internal;
  const make = (kind: FrontendKind, address: string, port: number, p: PolicyResult, sourceRanges: readonly string[] | null): Frontend => ({
    service: sp.service,
    servicePort: sp.name,
    kind,
    address,
    port,
    protocol: sp.protocol,
    backends: p.backends,
    sessionAffinityTimeoutSeconds: sp.affinityTimeoutSeconds,
    sourceRanges,
    trafficScope: p.scope,
    noEndpointsAction: p.action,
  });
  const out: Frontend[] = [make('ClusterIP', sp.clusterIP, sp.port, internal, null)];
  if (sp.nodePort !== 0) {
    // NodePorts are not subject to loadBalancerSourceRanges (kube-proxy: "for better or worse").
    for (const address of nodeAddresses) out.push(make('NodePort', address, sp.nodePort, external, null));
  }
  const ranges = sp.sourceRanges.length > 0 ? sp.sourceRanges : null;
  for (const vip of sp.loadBalancerVIPs) out.push(make('LoadBalancer', vip, sp.port, external, ranges));
  for (const ip of sp.externalIPs) out.push(make('ExternalIP', ip, sp.port, external, null));
  return out;
}
