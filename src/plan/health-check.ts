/**
 * healthCheckNodePort answers (kube-proxy pkg/proxy/healthcheck, EndpointsMap.LocalReadyEndpoints):
 * the number of distinct ready endpoint IPs of the Service on this node, over
 * every port of its EndpointSlices (10.0.0.1:80 and 10.0.0.1:443 are one endpoint).
 * Terminating endpoints do not count, so the node fails the check while it drains.
 */
import type { EndpointInfo } from './endpoints.js';

export function localReadyEndpointCount(byPort: ReadonlyMap<string, readonly EndpointInfo[]>): number {
  const ips = new Set<string>();
  for (const endpoints of byPort.values()) {
    for (const ep of endpoints) if (ep.isLocal && ep.ready) ips.add(ep.address);
  }
  return ips.size;
}
