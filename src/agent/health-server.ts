/**
 * /healthz on --health-addr: 200 while the datapath serves this agent's plan
 * (first sync done, programs attached, last sync good, the pins still the
 * maps the agent writes), 503 otherwise, always with the cause.
 */
import type { Server } from 'node:http';
import type { Rejection } from '../reconcile/capacity.js';
import { close, listen, sendJson } from './http.js';
import type { HostPort } from './config.js';
import type { SourceReport } from './source-state.js';

export interface SyncStatus {
  /** Date.now() of the last successful sync; undefined before the first. */
  lastSyncedAt?: number;
  /** The last sync's error, cleared by the next success. */
  lastError?: string;
  /** Before the first sync: why it has not happened (the source's latest error). */
  waitingFor?: string;
  /** The agent's programs are attached (after the first sync into new maps, at once over adopted ones). */
  attached?: boolean;
  /** The pins no longer name the maps the agent writes. */
  pinsProblem?: string;
  /** Services left out of the maps for want of room (the agent still serves the rest: not a health failure). */
  rejected?: readonly Rejection[];
}

/** Services listed by /healthz; the count is always complete. */
const REJECTED_LISTED = 100;

/** Why the agent is not healthy, or undefined when it is. */
export function unhealthyCause(s: SyncStatus): string | undefined {
  if (s.pinsProblem) return s.pinsProblem;
  if (s.lastError !== undefined) return s.lastError;
  if (s.lastSyncedAt === undefined) return `no complete sync yet: ${s.waitingFor ?? 'waiting for the source\'s first complete state'}`;
  if (!s.attached) return 'the programs are not attached';
  return undefined;
}

export function healthy(status: SyncStatus): boolean {
  return unhealthyCause(status) === undefined;
}

/** What the agent adds to the sync status for /healthz, read at each answer. */
export interface HealthContext {
  readonly version: string;
  /** Undefined only before the source exists. */
  readonly source: () => SourceReport | undefined;
  /** Services (by name) and frontends the maps serve, as last applied. */
  readonly programmed: () => { readonly services: number; readonly frontends: number };
}

/** The /healthz body (docs/design.md §4.2); `lastError` is the cause, never null when unhealthy. */
export function healthBody(status: SyncStatus, context: HealthContext, now = Date.now()): { healthy: boolean; body: Record<string, unknown> } {
  const cause = unhealthyCause(status);
  return {
    healthy: cause === undefined,
    body: {
      healthy: cause === undefined,
      lastError: cause ?? null,
      version: context.version,
      source: context.source() ?? null,
      programmed: context.programmed(),
      lastSyncedAt: status.lastSyncedAt === undefined ? null : new Date(status.lastSyncedAt).toISOString(),
      currentTime: new Date(now).toISOString(),
      attached: status.attached ?? false,
      capacity: { rejectedServices: status.rejected?.length ?? 0, rejected: (status.rejected ?? []).slice(0, REJECTED_LISTED) },
    },
  };
}

/** `refresh` runs before each /healthz answer (the pin check); `routes`: other read-only JSON paths (path -> body). */
export async function startHealthServer(addr: HostPort, status: SyncStatus, context: HealthContext,
  refresh: () => void = () => undefined, routes: Readonly<Record<string, () => unknown>> = {}): Promise<Server> {
  return listen((req, res) => {
    const route = Object.hasOwn(routes, req.url ?? '') ? routes[req.url ?? ''] : undefined;
    if (route) {
      sendJson(res, 200, route());
      return;
    }
    if (req.url !== '/healthz' && req.url !== '/') {
      sendJson(res, 404, { error: 'not found: try /healthz' });
      return;
    }
    refresh();
    const { healthy: ok, body } = healthBody(status, context);
    sendJson(res, ok ? 200 : 503, body);
  }, addr.host, addr.port, '--health-addr');
}

export { close as closeServer };
