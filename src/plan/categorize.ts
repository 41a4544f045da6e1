/**
 * dsrlb's CategorizeEndpoints (kube-proxy pkg/proxy/topology.go): which
 * endpoints Cluster and Local traffic policy use, with the serving-terminating
 * fallback decided separately for each, and whether the Service has any usable
 * endpoint anywhere in the cluster.
 */
import type { EndpointInfo } from './endpoints.js';
import { usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './services.js';
import { availableForTopology, topologyModeFromHints } from './topology.js';

export interface Categorized {
  /** Cluster-policy endpoints (topology applied); empty when the port never uses Cluster policy. */
  readonly cluster: readonly EndpointInfo[];
  /** Local-policy endpoints; empty when the port never uses Local policy. */
  readonly local: readonly EndpointInfo[];
  /** Some node has a usable (ready, or serving-terminating) endpoint. */
  readonly hasAnyEndpoints: boolean;
}

const servingTerminating = (ep: EndpointInfo): boolean => ep.serving && ep.terminating;

export function categorizeEndpoints(
  endpoints: readonly EndpointInfo[], sp: ServicePortInfo, nodeName: string, zone: string,
): Categorized {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAnyEndpoints = false;
  if (endpoints.length === 0) return { cluster, local, hasAnyEndpoints };

  if (usesClusterEndpoints(sp)) {
    const mode = topologyModeFromHints(endpoints, nodeName, zone);
    cluster = endpoints.filter((ep) => ep.ready && availableForTopology(ep, mode, nodeName, zone));
    // No ready endpoint anywhere (topology already fell back if none in this zone):
    // use the serving-terminating ones so connections drain instead of failing.
    if (cluster.length === 0) cluster = endpoints.filter(servingTerminating);
    hasAnyEndpoints = cluster.length > 0;
  }

  if (usesLocalEndpoints(sp)) {
    let localReady = false;
    let localServingTerminating = false;
    for (const ep of endpoints) {
      if (ep.ready) {
        hasAnyEndpoints = true;
        if (ep.isLocal) localReady = true;
      } else if (servingTerminating(ep)) {
        hasAnyEndpoints = true;
        if (ep.isLocal) localServingTerminating = true;
      }
    }
    // Local policy falls back to this node's serving-terminating endpoints only
    // when this node has no ready one, whatever other nodes have. Hints do not apply.
    if (localReady) local = endpoints.filter((ep) => ep.isLocal && ep.ready);
    else if (localServingTerminating) local = endpoints.filter((ep) => ep.isLocal && servingTerminating(ep));
  }
  return { cluster, local, hasAnyEndpoints };
}
