/**
 * Topology-aware routing for Cluster-policy endpoints, kube-proxy's rules
 * (pkg/proxy/topology.go, Kubernetes 1.33+). Hints are honoured whenever the
 * EndpointSlices carry them; the Service annotation and trafficDistribution
 * only tell the EndpointSlice controller to write them (kube-proxy stopped
 * reading the annotation in 1.33).
 */
import type { EndpointInfo } from './endpoints.js';

export type TopologyMode = '' | 'PreferSameNode' | 'PreferSameZone';

/**
 * Which hints to apply, judged over the ready endpoints only:
 * - node hints when every ready endpoint has one and one names this node;
 * - otherwise zone hints when every ready endpoint has one and one names this zone;
 * - otherwise none (so a zone without hinted endpoints falls back to all of them).
 */
export function topologyModeFromHints(endpoints: readonly EndpointInfo[], nodeName: string, zone: string): TopologyMode {
  let hasReady = false;
  let allNodeHints = true;
  let forNode = false;
  let allZoneHints = true;
  let forZone = false;
  for (const ep of endpoints) {
    if (!ep.ready) continue;
    hasReady = true;
    if (!ep.nodeHints) allNodeHints = false;
    else if (ep.nodeHints.has(nodeName)) forNode = true;
    if (!ep.zoneHints) allZoneHints = false;
    else if (ep.zoneHints.has(zone)) forZone = true;
  }
  if (!hasReady) return '';
  if (allNodeHints && forNode) return 'PreferSameNode';
  if (allZoneHints && forZone) return 'PreferSameZone';
  return '';
}

/** No fallback here: the fallback is in choosing the mode. */
export function availableForTopology(ep: EndpointInfo, mode: TopologyMode, nodeName: string, zone: string): boolean {
  switch (mode) {
    case '': return true;
    case 'PreferSameNode': return ep.nodeHints?.has(nodeName) ?? false;
    case 'PreferSameZone': return ep.zoneHints?.has(zone) ?? false;
  }
}
