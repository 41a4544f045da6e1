/**
 * /healthz on --health-addr: 200 once the first sync has reached the maps and
 * the last sync succeeded, 503 otherwise (how probes and the lab know the
 * agent is serving).
 */
import type { Server } from 'node:http';
import { close, listen, sendJson } from './http.js';
import type { HostPort } from './config.js';

export interface SyncStatus {
  /** Date.now() of the last successful sync; undefined before the first. */
  lastSyncedAt?: number;
  /** The last sync's error, cleared by the next success. */
  lastError?: string;
}

export function healthy(status: SyncStatus): boolean {
  return status.lastSyncedAt !== undefined && status.lastError === undefined;
}

export async function startHealthServer(addr: HostPort, status: SyncStatus): Promise<Server> {
  return listen((req, res) => {
    if (req.url !== '/healthz' && req.url !== '/') {
      sendJson(res, 404, { error: 'not found: try /healthz' });
      return;
    }
    sendJson(res, healthy(status) ? 200 : 503, {
      healthy: healthy(status),
      lastSyncedAt: status.lastSyncedAt === undefined ? null : new Date(status.lastSyncedAt).toISOString(),
      currentTime: new Date().toISOString(),
      lastError: status.lastError ?? null,
    });
  }, addr.host, addr.port, '--health-addr');
}

export { close as closeServer };
