/**
 * What runs in every lab pod: an HTTP service that answers with the remote
 * address it saw and its own name (the proof that DSR keeps the client's
 * address), large downloads and uploads for the transfer tests, and a UDP echo.
 * Usage: node dist/lab/pod-server.js NAME [HTTP_PORT] [UDP_PORT]
 * (prints "ready NAME" once both sockets are bound).
 *
 * GET /            -> JSON PodAnswer
 * GET /bytes/N     -> N bytes (X-Pod, X-Client headers); ?rate=BYTES_PER_S paces it
 * POST /           -> JSON PodAnswer with the number of bytes received
 * UDP datagram     -> JSON PodAnswer with the datagram's size; one that starts
 *                     with "reply-bytes=N;" gets an answer padded to N bytes
 *                     (larger than the MTU: the pod's stack fragments it)
 * Nothing listens on POD_CLOSED_UDP_PORT: a datagram to it gets the pod's
 * ICMP port unreachable.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

export const POD_HTTP_PORT = 8080;
export const POD_UDP_PORT = 9000;
/** A UDP port no pod listens on. */
export const POD_CLOSED_UDP_PORT = 9009;
/** The most a padded UDP answer may be (an IPv4 datagram's limit, less headers). */
const MAX_UDP_ANSWER = 65_000;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** Downloads larger than this are refused: the lab's loops are bounded. */
const MAX_DOWNLOAD = 4 * 1024 ** 3;
/** Paced downloads send a chunk every this many ms. */
const PACE_MS = 20;

export interface PodAnswer { pod: string; remoteAddress: string; remotePort: number; localAddress: string; bytes?: number; pad?: string }

/** The answer to a UDP datagram `msg`: padded to the size it asks for with "reply-bytes=N;". */
export function udpAnswer(answer: PodAnswer, msg: Buffer): string {
  const plain = JSON.stringify(answer);
  const asked = /^reply-bytes=(\d+);/.exec(msg.toString('latin1', 0, 32));
  const want = Math.min(Number(asked?.[1] ?? 0), MAX_UDP_ANSWER);
  const room = want - JSON.stringify({ ...answer, pad: '' }).length;
  return room > 0 ? JSON.stringify({ ...answer, pad: 'p'.repeat(room) }) : plain;
}

export interface PodServer { readonly ready: Promise<void>; close(): void }

export function startPodServer(name: string, httpPort = POD_HTTP_PORT, udpPort = POD_UDP_PORT): PodServer {
  const http = createServer((req, res) => {
    const socket = req.socket;
    const answer: PodAnswer = {
      pod: name, remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0, localAddress: socket.localAddress ?? '',
    };
    const download = /^\/bytes\/(\d+)(?:\?rate=(\d+))?$/.exec(req.url ?? '');
    if (req.method === 'GET' && download) {
      let left = Math.min(Number(download[1]), MAX_DOWNLOAD);
      const rate = download[2] ? Math.max(Number(download[2]), 1024) : 0;
      res.writeHead(200, { 'Content-Length': left, 'X-Pod': name, 'X-Client': `${answer.remoteAddress}:${answer.remotePort}` });
      /** Writes n bytes (n <= left) in chunks; false when the socket wants a drain. */
      const send = (n: number): boolean => {
        let ok = true;
        for (let rest = n; rest > 0;) {
          const k = Math.min(rest, CHUNK.length);
          ok = res.write(k === CHUNK.length ? CHUNK : CHUNK.subarray(0, k));
          rest -= k;
        }
        left -= n;
        return ok;
      };
      const pump = (): void => {
        while (left > 0) {
          if (!send(Math.min(left, CHUNK.length))) { res.once('drain', pump); return; }
        }
        res.end();
      };
      // Paced: a slice every PACE_MS, so a transfer lasts long enough to disturb it mid-way.
      const pace = (): void => {
        if (res.destroyed) return;
        if (left <= 0) { res.end(); return; }
        send(Math.min(left, Math.ceil((rate * PACE_MS) / 1000)));
        setTimeout(pace, PACE_MS);
      };
      if (rate) pace();
      else pump();
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
  const httpReady = new Promise<void>((resolve, reject) => { http.once('error', reject); http.listen(httpPort, '0.0.0.0', resolve); });

  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const answer: PodAnswer = { pod: name, remoteAddress: rinfo.address, remotePort: rinfo.port, localAddress: '', bytes: msg.length };
    udp.send(udpAnswer(answer, msg), rinfo.port, rinfo.address);
  });
  const udpReady = new Promise<void>((resolve, reject) => { udp.once('error', reject); udp.bind(udpPort, '0.0.0.0', resolve); });
  return { ready: Promise.all([httpReady, udpReady]).then(() => undefined), close: () => { http.close(); udp.close(); } };
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main) {
  const [name, http, udp] = process.argv.slice(2);
  if (!name) {
    process.stderr.write('usage: pod-server NAME [HTTP_PORT] [UDP_PORT]\n');
    process.exit(2);
  }
  startPodServer(name, http ? Number(http) : POD_HTTP_PORT, udp ? Number(udp) : POD_UDP_PORT).ready.then(
    () => process.stdout.write(`ready ${name}\n`),
    (e: unknown) => { process.stderr.write(`pod-server ${name}: ${e instanceof Error ? e.message : String(e)}\n`); process.exit(1); },
  );
}
