/**
 * A client that reports what its sockets saw, for the socket LB's tests, the
 * lab and the benchmark: run inside a pod (a network namespace, and a cgroup
 * the socket LB is attached above):
 *   node dist/lab/socket-client.js '<SocketOp as JSON>'
 * Prints one JSON result. Every operation has a deadline; nothing retries.
 *
 * - `tcp`: `count` connections, each: connect, one HTTP request to the pod
 *   server, the answer, and getpeername (what the application thinks it is
 *   talking to), or the connect's error code (ECONNREFUSED).
 * - `udp`: one unconnected socket sends a datagram to each target in turn,
 *   `rounds` times, and reports each reply's source as recvmsg gives it.
 * - `tcp-rate`, `udp-rate`: connections (connect, first byte, close) or
 *   request/response exchanges per second, for `seconds` (benchmark, against
 *   the byte server).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import type { PodAnswer } from './pod-server.js';

export interface Target { readonly host: string; readonly port: number }

export type SocketOp =
  | { op: 'tcp'; host: string; port: number; count: number; timeoutMs?: number }
  | { op: 'udp'; targets: Target[]; rounds: number; timeoutMs?: number }
  /** Connections go to `hosts` in turn (several pods, or one frontend). */
  | { op: 'tcp-rate'; hosts: string[]; port: number; seconds: number }
  | { op: 'udp-rate'; hosts: string[]; port: number; seconds: number };

export interface TcpResult { answer?: PodAnswer; peer?: string; error?: string }
export interface UdpReply { to: string; from?: string; answer?: PodAnswer; error?: string }
export interface RateResult { operations: number; seconds: number; perSecond: number; errors: number }

const DEFAULT_TIMEOUT_MS = 3_000;

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

function tcpOnce(host: string, port: number, timeoutMs: number): Promise<TcpResult> {
  return new Promise((resolve) => {
    let body = '';
    let peer: string | undefined;
    const sock: Socket = connect({ host, port });
    const timer = setTimeout(() => sock.destroy(new Error('ETIMEDOUT')), timeoutMs);
    const done = (r: TcpResult): void => { clearTimeout(timer); sock.destroy(); resolve(r); };
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      peer = `${sock.remoteAddress}:${sock.remotePort}`;
      sock.write('GET / HTTP/1.0\r\n\r\n');
    });
    sock.on('data', (c: string) => { body += c; });
    sock.on('end', () => {
      try {
        done({ answer: JSON.parse(body.slice(body.indexOf('\r\n\r\n') + 4)) as PodAnswer, ...(peer ? { peer } : {}) });
      } catch (e) {
        done({ error: errText(e) });
      }
    });
    sock.on('error', (e) => done({ error: errText(e) }));
  });
}

function sendTo(sock: UdpSocket, t: Target): Promise<void> {
  return new Promise((resolve, reject) => sock.send(Buffer.from('q'), t.port, t.host, (e) => (e ? reject(e) : resolve())));
}

/** One unconnected socket: to each target in turn, waiting for its reply (a DNS client's way). */
async function udp(targets: readonly Target[], rounds: number, timeoutMs: number): Promise<UdpReply[]> {
  const sock = createSocket('udp4');
  const out: UdpReply[] = [];
  let waiting: ((r: { from: string; answer: PodAnswer }) => void) | undefined;
  sock.on('message', (msg, rinfo) => waiting?.({ from: `${rinfo.address}:${rinfo.port}`, answer: JSON.parse(msg.toString('utf8')) as PodAnswer }));
  sock.on('error', () => undefined);
  try {
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const to = `${t.host}:${t.port}`;
        try {
          let timer: NodeJS.Timeout | undefined;
          const reply = new Promise<{ from: string; answer: PodAnswer }>((resolve, reject) => {
            waiting = resolve;
            timer = setTimeout(() => reject(new Error('ETIMEDOUT')), timeoutMs);
          });
          // A refused send (no endpoints) rejects here; the reply's timer must not outlive it.
          await sendTo(sock, t).catch((e: unknown) => { clearTimeout(timer); reply.catch(() => undefined); throw e; });
          out.push({ to, ...(await reply) });
          clearTimeout(timer);
        } catch (e) {
          out.push({ to, error: errText(e) });
        }
      }
    }
  } finally {
    sock.close();
  }
  return out;
}

/** Connect, the first byte the server sends (the byte server's), close; one at a time for `seconds`. */
async function tcpRate(hosts: readonly string[], port: number, seconds: number): Promise<RateResult> {
  let operations = 0;
  let errors = 0;
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  for (let i = 0; process.hrtime.bigint() < end; i++) {
    const host = hosts[i % hosts.length] as string;
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect({ host, port, noDelay: true });
      sock.once('data', () => { sock.destroy(); resolve(true); });
      sock.once('error', () => { sock.destroy(); resolve(false); });
    });
    if (ok) operations++;
    else errors++;
  }
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return { operations, seconds: elapsed, perSecond: operations / elapsed, errors };
}

/** Request/response over one unconnected socket (sendto every time) for `seconds`. */
async function udpRate(hosts: readonly string[], port: number, seconds: number): Promise<RateResult> {
  const sock = createSocket('udp4');
  let next: (() => void) | undefined;
  sock.on('message', () => next?.());
  let operations = 0;
  let errors = 0;
  const payload = Buffer.from('q');
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  for (let i = 0; process.hrtime.bigint() < end; i++) {
    const host = hosts[i % hosts.length] as string;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 1_000);
      next = () => { clearTimeout(timer); resolve(true); };
      sock.send(payload, port, host, (e) => { if (e) { clearTimeout(timer); resolve(false); } });
    });
    if (ok) operations++;
    else errors++;
  }
  sock.close();
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return { operations, seconds: elapsed, perSecond: operations / elapsed, errors };
}

export async function runSocketOp(op: SocketOp): Promise<unknown> {
  switch (op.op) {
    case 'tcp': {
      const out: TcpResult[] = [];
      for (let i = 0; i < op.count; i++) out.push(await tcpOnce(op.host, op.port, op.timeoutMs ?? DEFAULT_TIMEOUT_MS));
      return out;
    }
    case 'udp': return udp(op.targets, op.rounds, op.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    case 'tcp-rate': return tcpRate(op.hosts, op.port, op.seconds);
    case 'udp-rate': return udpRate(op.hosts, op.port, op.seconds);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runSocketOp(JSON.parse(process.argv[2] ?? '{}') as SocketOp).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e: unknown) => { process.stderr.write(`${errText(e)}\n`); process.exitCode = 1; },
  );
}
