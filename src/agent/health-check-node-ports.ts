/**
 * healthCheckNodePort servers for externalTrafficPolicy: Local services,
 * answering like kube-proxy's: 200 with the local endpoint count when this
 * node has ready local endpoints, 503 otherwise, so external load balancers
 * only send traffic to nodes that can serve it locally.
 */
import type { Server } from 'node:http';
import { close, listen, sendJson } from './http.js';

export interface HealthCheckNodePort {
  /** "namespace/name" */
  readonly service: string;
  readonly port: number;
  readonly localReadyEndpoints: number;
}

interface Answer { service: string; localReadyEndpoints: number }
interface Entry { server: Server; answer: Answer }

export class HealthCheckNodePorts {
  private readonly servers = new Map<number, Entry>();
  /** Errors of the last sync, e.g. a port already taken, by port. */
  readonly errors = new Map<number, Error>();

  constructor(private readonly host = '0.0.0.0', private readonly proxyHealthy: () => boolean = () => true) {}

  /** Opens servers for new ports, closes those no longer wanted, updates counts in place. */
  async sync(wanted: readonly HealthCheckNodePort[]): Promise<void> {
    const byPort = new Map(wanted.map((w) => [w.port, w]));
    for (const [port, entry] of this.servers) {
      if (!byPort.has(port)) {
        this.servers.delete(port);
        await close(entry.server);
      }
    }
    this.errors.clear();
    for (const w of byPort.values()) {
      const existing = this.servers.get(w.port);
      if (existing) {
        existing.answer.service = w.service;
        existing.answer.localReadyEndpoints = w.localReadyEndpoints;
        continue;
      }
      // The handler reads `answer` on every request, so later syncs update it in place.
      const answer: Answer = { service: w.service, localReadyEndpoints: w.localReadyEndpoints };
      try {
        const server = await listen((_req, res) => {
          const [namespace, name] = answer.service.split('/');
          const healthy = this.proxyHealthy();
          const status = answer.localReadyEndpoints > 0 && healthy ? 200 : 503;
          sendJson(res, status, {
            service: { namespace, name },
            localEndpoints: answer.localReadyEndpoints,
            serviceProxyHealthy: healthy,
          }, { 'X-Load-Balancing-Endpoint-Weight': String(answer.localReadyEndpoints) });
        }, this.host, w.port, `healthCheckNodePort of ${w.service}`);
        this.servers.set(w.port, { server, answer });
      } catch (e) {
        this.errors.set(w.port, e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  async stop(): Promise<void> {
    await this.sync([]);
  }
}
