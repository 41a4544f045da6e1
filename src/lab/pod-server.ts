/**
 * What runs in every lab pod: an HTTP service that answers with the remote
 * address it saw and its own name (the proof that DSR keeps the client's
 * address), large downloads and uploads for the transfer tests, and a UDP echo.
 * Usage: node dist/lab/pod-server.js NAME [HTTP_PORT] [UDP_PORT]
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export const POD_HTTP_PORT = 8080;
export const POD_UDP_PORT = 9000;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** Downloads larger than this are refused: the lab's loops are bounded. */
const MAX_DOWNLOAD = 4 << 30;

export interface PodAnswer { pod: string; remoteAddress: string; remotePort: number; localAddress: string; bytes?: number }

export function startPodServer(name: string, httpPort = POD_HTTP_PORT, udpPort = POD_UDP_PORT): { close(): void } {
  const http = createServer((req, res) => {
    const socket = req.socket;
    const answer: PodAnswer = {
      pod: name, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, localAddress: socket.localAddress ?? '',
    };
    const download = /^\/bytes\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && download) {
      let left = Math.min(Number(download[1]), MAX_DOWNLOAD);
      res.writeHead(200, { 'Content-Length': left, 'X-Pod': name, 'X-Client': `${answer.remoteAddress}:${answer.remotePort}` });
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, CHUNK.length);
          left -= n;
          if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) { res.once('drain', pump); return; }
        }
        res.end();
      };
      pump();
      return;
    }
    if (req.method === 'POST') {
      let bytes = 0;
      req.on('data', (c: Buffer) => { bytes += c.length; });
      req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ ...answer, bytes })); });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(answer));
  });
  http.keepAliveTimeout = 60_000;
  http.listen(httpPort, '0.0.0.0');

  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const answer: PodAnswer = { pod: name, remoteAddress: rinfo.address, remotePort: rinfo.port, localAddress: '', bytes: msg.length };
    udp.send(JSON.stringify(answer), rinfo.port, rinfo.address);
  });
  udp.bind(udpPort, '0.0.0.0');
  return { close: () => { http.close(); udp.close(); } };
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main) {
  const [name, http, udp] = process.argv.slice(2);
  if (!name) {
    process.stderr.write('usage: pod-server NAME [HTTP_PORT] [UDP_PORT]\n');
    process.exit(2);
  }
  startPodServer(name, http ? Number(http) : POD_HTTP_PORT, udp ? Number(udp) : POD_UDP_PORT);
  process.stdout.write(`ready ${name}\n`);
}
