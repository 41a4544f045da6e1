/** /metrics on --metrics-addr, in the Prometheus text format. */
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { HostPort } from './config.js';
import { listen } from './http.js';

export function startMetricsServer(addr: HostPort, registry: Registry): Promise<Server> {
  return listen(async (req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType }).end(body);
  }, addr.host, addr.port, '--metrics-addr');
}
