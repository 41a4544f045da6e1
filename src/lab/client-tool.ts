/**
 * The lab client's tools, run inside the client namespace:
 *   node dist/lab/client-tool.js '<ClientOp as JSON>'
 * Prints one JSON result (the `hold` op: one JSON line per round, driven by
 * lines on stdin). Every operation has a deadline; nothing here retries.
 */
import { createSocket } from 'node:dgram';
import { Agent, request, type IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { buildFrame, dsrOption, encodeGeneve } from '../packet/index.js';
import type { PodAnswer } from './pod-server.js';

export type ClientOp =
  /** `count` GETs, each on a new connection; one answer per request. */
  | { op: 'get'; url: string; count?: number; timeoutMs?: number }
  /** One GET: status code and body as text (health checks). */
  | { op: 'status'; url: string; timeoutMs?: number }
  /** GET /bytes/N...: counts the body; reports who served it. */
  | { op: 'download'; url: string; timeoutMs?: number }
  /** Parallel downloads for `seconds`: total and per-pod bytes. */
  | { op: 'load'; url: string; connections: number; seconds: number }
  | { op: 'upload'; url: string; bytes: number; timeoutMs?: number }
  /**
   * `count` queries, each from a new socket; `connected`: a connected socket (which
   * reports an ICMP error as ECONNREFUSED and the like); `replyBytes`: ask the pod
   * for an answer of that size.
   */
  | { op: 'udp'; host: string; port: number; count?: number; size?: number; timeoutMs?: number; connected?: boolean; replyBytes?: number }
  /** `count` connections, `concurrency` at a time: answers per pod. */
  | { op: 'spread'; url: string; count: number; concurrency: number; timeoutMs?: number }
  /** Opens `count` keep-alive connections; each stdin line "again" re-asks on all, "end" ends. */
  | { op: 'hold'; url: string; count: number; timeoutMs?: number }
  /** Geneve + DSR option to `node`:6081 around a UDP datagram to `pod`; listens for an echo. */
  | { op: 'forge-geneve'; node: string; pod: string; podPort: number; vip: string; vipPort: number; count: number; listenMs: number; srcMac: string; dstMac: string };

export interface GetResult { answer?: PodAnswer; error?: string; ms: number }
export interface StatusResult { status?: number; body?: string; error?: string }
export interface DownloadResult {
  status?: number; expected?: number; bytes: number; pod?: string; client?: string; error?: string; ms: number;
}
export interface LoadResult { seconds: number; bytes: number; perPod: Record<string, number>; errors: string[] }
export interface UdpResult { answer?: PodAnswer; from?: string; error?: string; bytes?: number }
export interface SpreadResult { perPod: Record<string, number>; remoteAddresses: Record<string, number>; errors: Record<string, number>; ms: number }
export interface HoldRound { round: number; results: { answer?: PodAnswer; reused: boolean; error?: string }[] }
export interface ForgeResult { sent: number; echoes: number }

const DEFAULT_TIMEOUT_MS = 5_000;

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message ?? String(e);
}

function httpGet(url: string, timeoutMs: number, agent: Agent | false = false): Promise<{ res: IncomingMessage; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, timeout: timeoutMs, headers: agent ? {} : { Connection: 'close' } }, (res) => resolve({ res, reused: req.reusedSocket }));
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', reject);
    req.end();
  });
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { body += c; });
    res.on('end', () => resolve(body));
    res.on('error', reject);
    res.on('aborted', () => reject(new Error('ECONNRESET')));
  });
}

export async function getOnce(url: string, timeoutMs: number, agent: Agent | false = false): Promise<GetResult & { reused: boolean }> {
  const t0 = Date.now();
  try {
    const { res, reused } = await httpGet(url, timeoutMs, agent);
    const body = await readBody(res);
    return { answer: JSON.parse(body) as PodAnswer, ms: Date.now() - t0, reused };
  } catch (e) {
    return { error: errText(e), ms: Date.now() - t0, reused: false };
  }
}

async function status(url: string, timeoutMs: number): Promise<StatusResult> {
  try {
    const { res } = await httpGet(url, timeoutMs);
    return { status: res.statusCode ?? 0, body: await readBody(res) };
  } catch (e) {
    return { error: errText(e) };
  }
}

async function download(url: string, timeoutMs: number): Promise<DownloadResult> {
  const t0 = Date.now();
  let bytes = 0;
  let head: Omit<DownloadResult, 'bytes' | 'ms'> = {};
  try {
    const { res } = await httpGet(url, timeoutMs);
    const expected = Number(res.headers['content-length'] ?? NaN);
    head = { status: res.statusCode ?? 0, expected, pod: String(res.headers['x-pod'] ?? ''), client: String(res.headers['x-client'] ?? '') };
    await new Promise<void>((resolve, reject) => {
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', resolve);
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('ECONNRESET')));
    });
    return { ...head, bytes, ms: Date.now() - t0 };
  } catch (e) {
    return { ...head, bytes, error: errText(e), ms: Date.now() - t0 };
  }
}

/** Downloads on `connections` connections at once, each cut after `seconds`; counts what arrived in that time. */
async function load(url: string, connections: number, seconds: number): Promise<LoadResult> {
  const perPod: Record<string, number> = {};
  const errors: string[] = [];
  let total = 0;
  const t0 = process.hrtime.bigint();
  const endAt = Date.now() + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, () => new Promise<void>((resolve) => {
    const req = request(url, { agent: false, headers: { Connection: 'close' }, timeout: (seconds + 5) * 1000 }, (res) => {
      const pod = String(res.headers['x-pod'] ?? '?');
      const timer = setTimeout(() => { req.destroy(); resolve(); }, Math.max(0, endAt - Date.now()));
      res.on('data', (c: Buffer) => { total += c.length; perPod[pod] = (perPod[pod] ?? 0) + c.length; });
      res.on('end', () => { clearTimeout(timer); resolve(); });
      res.on('error', () => { clearTimeout(timer); resolve(); });
    });
    req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e) => { if (Date.now() < endAt) errors.push(errText(e)); resolve(); });
    req.end();
  })));
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds: elapsed, bytes: total, perPod, errors };
}

async function upload(url: string, bytes: number, timeoutMs: number): Promise<GetResult> {
  const t0 = Date.now();
  try {
    const body = Buffer.alloc(bytes, 0x62);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(url, { method: 'POST', agent: false, timeout: timeoutMs, headers: { 'Content-Length': bytes, Connection: 'close' } }, resolve);
      req.on('timeout', () => req.destroy(new Error('ETIMEDOUT')));
      req.on('error', reject);
      req.end(body);
    });
    return { answer: JSON.parse(await readBody(res)) as PodAnswer, ms: Date.now() - t0 };
  } catch (e) {
    return { error: errText(e), ms: Date.now() - t0 };
  }
}

type UdpQuery = Extract<ClientOp, { op: 'udp' }>;

/** The query's payload: `size` bytes, beginning with the request for a padded answer if any. */
function udpQuery(q: UdpQuery): Buffer {
  const head = Buffer.from(q.replyBytes ? `reply-bytes=${q.replyBytes};` : '');
  return Buffer.concat([head, Buffer.alloc(Math.max(0, (q.size ?? 16) - head.length), 0x71)]);
}

/** One datagram per query, each from a new socket (a new source port, so a new flow). */
async function udp(q: UdpQuery): Promise<UdpResult[]> {
  const out: UdpResult[] = [];
  const payload = udpQuery(q);
  for (let i = 0; i < (q.count ?? 1); i++) {
    out.push(await new Promise<UdpResult>((resolve) => {
      const sock = createSocket('udp4');
      const done = (r: UdpResult): void => { clearTimeout(timer); sock.close(); resolve(r); };
      const timer = setTimeout(() => done({ error: 'ETIMEDOUT' }), q.timeoutMs ?? 2_000);
      sock.on('message', (msg, rinfo) => {
        try {
          done({ answer: JSON.parse(msg.toString('utf8')) as PodAnswer, from: `${rinfo.address}:${rinfo.port}`, bytes: msg.length });
        } catch (e) { done({ error: errText(e) }); }
      });
      sock.on('error', (e) => done({ error: errText(e) }));
      if (q.connected) sock.connect(q.port, q.host, () => sock.send(payload));
      else sock.send(payload, q.port, q.host);
    }));
  }
  return out;
}

async function spread(url: string, count: number, concurrency: number, timeoutMs: number): Promise<SpreadResult> {
  const t0 = Date.now();
  const perPod: Record<string, number> = {};
  const remoteAddresses: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      const r = await getOnce(url, timeoutMs);
      if (r.answer) {
        perPod[r.answer.pod] = (perPod[r.answer.pod] ?? 0) + 1;
        remoteAddresses[r.answer.remoteAddress] = (remoteAddresses[r.answer.remoteAddress] ?? 0) + 1;
      } else {
        errors[r.error ?? '?'] = (errors[r.error ?? '?'] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return { perPod, remoteAddresses, errors, ms: Date.now() - t0 };
}

async function hold(url: string, count: number, timeoutMs: number): Promise<void> {
  // One agent with one socket per connection: a request on it reuses that very connection.
  const agents = Array.from({ length: count }, () => new Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 1_000 }));
  const round = async (n: number): Promise<void> => {
    const results = await Promise.all(agents.map(async (a) => {
      const r = await getOnce(url, timeoutMs, a);
      return { ...(r.answer ? { answer: r.answer } : {}), reused: r.reused, ...(r.error ? { error: r.error } : {}) };
    }));
    process.stdout.write(`${JSON.stringify({ round: n, results } satisfies HoldRound)}\n`);
  };
  await round(0);
  const lines = createInterface({ input: process.stdin });
  let n = 1;
  // Bounded: at most 100 rounds, and the lab kills this process at teardown.
  for await (const line of lines) {
    if (line.trim() !== 'again' || n > 100) break;
    await round(n++);
  }
  for (const a of agents) a.destroy();
}

/**
 * What an attacker on the client's network could send: a Geneve packet
 * carrying a valid DSR option and an inner UDP datagram to a pod, with the
 * client's own address as inner source. A node must drop it (the sender is
 * not a known node); if it were delivered, the pod's echo would come back
 * here, to `innerPort`.
 */
async function forgeGeneve(op: Extract<ClientOp, { op: 'forge-geneve' }>, clientAddress: string): Promise<ForgeResult> {
  const listener = createSocket('udp4');
  await new Promise<void>((resolve) => listener.bind(0, clientAddress, resolve));
  const innerPort = listener.address().port;
  let echoes = 0;
  listener.on('message', () => { echoes++; });
  const inner = buildFrame({
    eth: { src: op.srcMac, dst: op.dstMac },
    ip: { src: clientAddress, dst: op.pod, ttl: 64 },
    udp: { sport: innerPort, dport: op.podPort, payload: Buffer.from('forged') },
  });
  const payload = Buffer.concat([encodeGeneve({ options: [dsrOption(op.vip, op.vipPort)] }), inner]);
  const sender = createSocket('udp4');
  for (let i = 0; i < op.count; i++) {
    await new Promise<void>((resolve) => sender.send(payload, 6081, op.node, () => resolve()));
  }
  await new Promise((r) => setTimeout(r, op.listenMs));
  sender.close();
  listener.close();
  return { sent: op.count, echoes };
}

/** `sourceAddress`: this namespace's address (the forged packets' inner source). */
export async function runClientOp(op: ClientOp, clientAddress = ''): Promise<unknown> {
  switch (op.op) {
    case 'get': {
      const out: GetResult[] = [];
      for (let i = 0; i < (op.count ?? 1); i++) {
        const { reused: _reused, ...r } = await getOnce(op.url, op.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        out.push(r);
      }
      return out;
    }
    case 'status': return status(op.url, op.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    case 'download': return download(op.url, op.timeoutMs ?? 60_000);
    case 'load': return load(op.url, op.connections, op.seconds);
    case 'upload': return upload(op.url, op.bytes, op.timeoutMs ?? 30_000);
    case 'udp': return udp(op);
    case 'spread': return spread(op.url, op.count, op.concurrency, op.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    case 'hold': await hold(op.url, op.count, op.timeoutMs ?? DEFAULT_TIMEOUT_MS); return undefined;
    case 'forge-geneve': return forgeGeneve(op, clientAddress);
  }
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main) {
  const [json, clientAddress] = process.argv.slice(2);
  if (!json) {
    process.stderr.write("usage: client-tool '<json op>' [SOURCE_ADDRESS]\n");
    process.exit(2);
  }
  runClientOp(JSON.parse(json) as ClientOp, clientAddress).then((r) => {
    if (r !== undefined) process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }, (e: unknown) => {
    process.stderr.write(`client-tool: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
