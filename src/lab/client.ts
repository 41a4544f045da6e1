/**
 * Runs the client's tools (client-tool.ts) inside the client namespace, and
 * the socket client (socket-client.ts) in any namespace and cgroup, and
 * parses what they print. Each call is one process with a deadline.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DsrlbError } from '../errors.js';
import type {
  ClientOp, DownloadResult, ForgeResult, GetResult, HoldRound, LoadResult, SpreadResult, StatusResult, UdpResult,
} from './client-tool.js';
import { LabEntries, NODE } from './entries.js';
import { inCgroup, nsRunAsync, runAsync } from './sh.js';
import type { SocketOp } from './socket-client.js';
import type { LabTopology } from './topology.js';

export interface ClientResults {
  get: GetResult[];
  status: StatusResult;
  download: DownloadResult;
  load: LoadResult;
  upload: GetResult;
  udp: UdpResult[];
  spread: SpreadResult;
  hold: never;
  'forge-geneve': ForgeResult;
}
export type ClientOpResult<T extends ClientOp['op']> = ClientResults[T];

/** Generous: the tool's own deadlines end it first; this only guards against a hang. */
const DEFAULT_PROCESS_TIMEOUT_MS = 120_000;

/** Runs a tool in namespace `ns` whose address is `source`. */
export async function runTool<T extends ClientOp['op']>(ns: string, source: string, op: Extract<ClientOp, { op: T }>, timeoutMs = DEFAULT_PROCESS_TIMEOUT_MS): Promise<ClientOpResult<T>> {
  const out = await nsRunAsync(ns, NODE, [LabEntries.clientTool, JSON.stringify(op), source], timeoutMs);
  try {
    return JSON.parse(out) as ClientOpResult<T>;
  } catch (e) {
    throw new DsrlbError('ERR_LAB_CLIENT', `client tool '${op.op}' printed no JSON: ${out.slice(0, 200)}`, { cause: e });
  }
}

/** Runs a tool in the client namespace. */
export function runClient<T extends ClientOp['op']>(topo: LabTopology, op: Extract<ClientOp, { op: T }>, timeoutMs = DEFAULT_PROCESS_TIMEOUT_MS): Promise<ClientOpResult<T>> {
  return runTool(topo.client.ns, topo.client.address, op, timeoutMs);
}

/** Keep-alive connections held open by the client across changes (see the `hold` op). */
export interface HeldConnections {
  /** The answers to the first request on each connection. */
  readonly first: HoldRound;
  /** A new request on every held connection. */
  again(): Promise<HoldRound>;
  end(): void;
}

export async function holdConnections(topo: LabTopology, url: string, count: number, timeoutMs = 20_000): Promise<HeldConnections> {
  const child = spawn('ip', ['netns', 'exec', topo.client.ns, NODE, LabEntries.clientTool, JSON.stringify({ op: 'hold', url, count }), topo.client.address], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const lines = createInterface({ input: child.stdout });
  const pending: ((line: string) => void)[] = [];
  lines.on('line', (line) => pending.shift()?.(line));
  const next = (): Promise<HoldRound> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new DsrlbError('ERR_LAB_CLIENT', `held connections: no answer within ${timeoutMs} ms ${stderr}`)); }, timeoutMs);
    child.once('exit', () => { clearTimeout(timer); reject(new DsrlbError('ERR_LAB_CLIENT', `held connections: the client tool exited: ${stderr.trim()}`)); });
    pending.push((line) => { clearTimeout(timer); resolve(JSON.parse(line) as HoldRound); });
  });
  const first = await next();
  return {
    first,
    again: () => { const r = next(); child.stdin.write('again\n'); return r; },
    end: () => { child.stdin.end('end\n'); setTimeout(() => child.kill('SIGKILL'), 2_000).unref(); },
  };
}

/**
 * Runs the socket client in namespace `ns`, as a member of `cgroup` (a
 * cgroup2 directory the socket LB is attached to, or above) unless null.
 */
export async function runSocketClient<T>(ns: string, op: SocketOp, cgroup: string | null, timeoutMs = DEFAULT_PROCESS_TIMEOUT_MS): Promise<T> {
  const argv = ['ip', 'netns', 'exec', ns, NODE, LabEntries.socketClient, JSON.stringify(op)];
  const [cmd, args] = cgroup === null ? ['ip', argv.slice(1)] : inCgroup(cgroup, argv);
  const out = await runAsync(cmd, args, timeoutMs);
  try {
    return JSON.parse(out) as T;
  } catch (e) {
    throw new DsrlbError('ERR_LAB_CLIENT', `socket client '${op.op}' printed no JSON: ${out.slice(0, 200)}`, { cause: e });
  }
}
