/** Small HTTP helpers shared by the agent's servers. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { DsrlbError } from '../errors.js';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Listens, resolving once bound; a bind failure becomes an error naming the address. */
export function listen(handler: Handler, host: string, port: number, what: string): Promise<Server> {
  const server = createServer((req, res) => {
    Promise.resolve(handler(req, res)).catch((e: unknown) => {
      res.statusCode = 500;
      res.end(e instanceof Error ? e.message : String(e));
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new DsrlbError('ERR_LISTEN', `cannot listen for ${what}: ${e.code ?? e.message}`, {
      subject: `${host}:${port}`,
      remedy: e.code === 'EADDRINUSE' ? 'another process has this port: pick another address flag' : 'check the address flag',
      cause: e,
    })));
    server.listen(port, host, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}
