/**
 * The node health endpoint kube-proxy serves on --healthz-bind-address
 * (0.0.0.0:10256): cloud load balancers probe it for externalTrafficPolicy
 * Cluster Services, so a kube-proxy replacement has to answer it the same way.
 * `/healthz`: 200 while the proxy is healthy and the node eligible, else 503,
 * body {lastUpdated, currentTime, nodeEligible}; `/livez` ignores eligibility.
 * Times are RFC 3339. One difference from kube-proxy, on purpose: before the
 * first sync reaches the maps dsrlb answers 503 (kube-proxy says 200 while it
 * starts), since until then this node serves no Service.
 */
import type { Server } from 'node:http';
import type { V1Node } from '@kubernetes/client-node';
import type { HostPort } from './config.js';
import { listen, sendJson } from './http.js';

/** The taint the Cluster Autoscaler puts on a node it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

/** Go's zero time, what kube-proxy reports as lastUpdated before any update. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface ProxyHealthState {
  /** The agent serves its plan (docs/design.md §4.3 /healthz). */
  readonly healthy: boolean;
  /** Date.now() of the last successful sync. */
  readonly lastSyncedAt?: number;
  readonly nodeEligible: boolean;
}

/** Eligible unless deleted or marked for deletion (an unknown node stays eligible, as in kube-proxy). */
export function nodeEligible(node: V1Node | undefined): boolean {
  if (!node) return true;
  if (node.metadata?.deletionTimestamp) return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
}

export interface ProxyHealthAnswer {
  readonly status: 200 | 503;
  readonly body: { readonly lastUpdated: string; readonly currentTime: string; readonly nodeEligible?: boolean };
}

/** kube-proxy's answer; a healthy proxy reports lastUpdated = now (its compatibility rule). */
export function proxyHealthAnswer(path: '/healthz' | '/livez', s: ProxyHealthState, now: number): ProxyHealthAnswer {
  const ok = s.healthy && (path === '/livez' || s.nodeEligible);
  const currentTime = new Date(now).toISOString();
  const lastUpdated = s.healthy ? currentTime : s.lastSyncedAt === undefined ? ZERO_TIME : new Date(s.lastSyncedAt).toISOString();
  return {
    status: ok ? 200 : 503,
    body: path === '/healthz' ? { lastUpdated, currentTime, nodeEligible: s.nodeEligible } : { lastUpdated, currentTime },
  };
}

export function startProxyHealthServer(addr: HostPort, read: () => ProxyHealthState): Promise<Server> {
  return listen((req, res) => {
    const path = new URL(req.url ?? '/', 'http://node').pathname;
    if (path !== '/healthz' && path !== '/livez') {
      sendJson(res, 404, { error: 'not found: try /healthz or /livez' });
      return;
    }
    const answer = proxyHealthAnswer(path, read(), Date.now());
    sendJson(res, answer.status, answer.body);
  }, addr.host, addr.port, '--healthz-bind-address');
}
