/**
 * Field-by-field equality of plan values. The plan cache uses it to keep a
 * frontend's object when its value did not change (consumers compare by
 * identity) and to report only the frontends, ports and warnings that differ.
 */
import type { Backend, Frontend, HealthCheckNodePort, PlanWarning } from './types.js';

export function frontendEqual(a: Frontend, b: Frontend): boolean {
  if (a === b) return true;
  return a.service === b.service && a.servicePort === b.servicePort && a.kind === b.kind && a.address === b.address
    && a.port === b.port && a.protocol === b.protocol && a.sessionAffinityTimeoutSeconds === b.sessionAffinityTimeoutSeconds
    && a.trafficScope === b.trafficScope && a.noEndpointsAction === b.noEndpointsAction
    && rangesEqual(a.sourceRanges, b.sourceRanges) && backendsEqual(a.backends, b.backends);
}

function backendsEqual(a: readonly Backend[], b: readonly Backend[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Backend;
    const y = b[i] as Backend;
    if (x.address !== y.address || x.port !== y.port || x.nodeName !== y.nodeName || x.terminating !== y.terminating) return false;
  }
  return true;
}

function rangesEqual(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function healthCheckEqual(a: HealthCheckNodePort | null, b: HealthCheckNodePort | null): boolean {
  if (a === b) return true;
  return a !== null && b !== null && a.service === b.service && a.port === b.port && a.localReadyEndpoints === b.localReadyEndpoints;
}

export function warningsEqual(a: readonly PlanWarning[], b: readonly PlanWarning[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as PlanWarning;
    const y = b[i] as PlanWarning;
    if (x.service !== y.service || x.message !== y.message) return false;
  }
  return true;
}
