/**
 * The real agent process in a network namespace the test creates (a veth
 * `eth0` with 198.51.100.1/24), and what its datapath looks like from the
 * outside (program ids on eth0, every pinned map's id and bytes, by bpftool),
 * so a test can say "byte-identical".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { ExecutionContext } from 'ava';
import { BpfMap, bytes, layoutDirs, MapType, native, projectRoot, scalar } from '../../src/bpf/index.js';
import { tempPinRoot } from './bpffs.js';
import { testCgroup } from './cgroup.js';
import { sh } from './netns.js';
import { requireRoot } from './root.js';
import { waitFor } from './wait.js';

export const agentBin = join(projectRoot, 'bin', 'dsrlb-agent.js');

/** A namespace with eth0 (198.51.100.1/24, its veth peer up), removed at teardown. */
export function nodeNetns(t: ExecutionContext, prefix = 'dsrlbt-agent'): string {
  const ns = `${prefix}-${randomBytes(3).toString('hex')}`;
  sh('ip', ['netns', 'add', ns]);
  t.teardown(() => sh('ip', ['netns', 'del', ns]));
  // No IPv6 autoconfiguration chatter: the per-CPU counters stay still unless the test sends something.
  sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  sh('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'peer0']);
  for (const dev of ['lo', 'eth0', 'peer0']) sh('ip', ['-n', ns, 'link', 'set', dev, 'up']);
  sh('ip', ['-n', ns, 'addr', 'add', '198.51.100.1/24', 'dev', 'eth0']);
  return ns;
}

export interface AgentNode {
  /** The node's network namespace (nodeNetns). */
  readonly ns: string;
  /** A private bpffs root. */
  readonly root: string;
  /** An empty manifests directory. */
  readonly dir: string;
}

/** What every agent test starts from; all of it removed at teardown. */
export function agentNode(t: ExecutionContext): AgentNode {
  requireRoot(t);
  const ns = nodeNetns(t);
  const root = tempPinRoot(t);
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-agent-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return { ns, root, dir };
}

export interface Svc {
  readonly name: string;
  readonly clusterIP: string;
  readonly port?: number;
  /** LoadBalancer ingress IP: the Service becomes type LoadBalancer. */
  readonly lb?: string;
  /** A nodePort for the port (LoadBalancer only; without it none is allocated). */
  readonly nodePort?: number;
  /** How many loadBalancerSourceRanges (distinct /24s). */
  readonly ranges?: number;
  /** Endpoint addresses on node-a, port 8080 (default one, 198.18.1.10). */
  readonly backends?: readonly string[];
}

/** A Service in namespace shop and its EndpointSlice, as YAML documents. */
export function serviceYaml(s: Svc): string {
  const ranges = Array.from({ length: s.ranges ?? 0 }, (_, i) => `10.${i >> 8}.${i & 255}.0/24`);
  const backends = s.backends ?? ['198.18.1.10'];
  const nodePort = s.nodePort === undefined ? '' : `, nodePort: ${s.nodePort}`;
  const lb = s.lb === undefined ? '' : [
    s.nodePort === undefined ? '  allocateLoadBalancerNodePorts: false' : '',
    ranges.length ? `  loadBalancerSourceRanges: [${ranges.join(', ')}]` : '',
    `status: { loadBalancer: { ingress: [{ ip: ${s.lb} }] } }`,
  ].filter(Boolean).join('\n');
  return `apiVersion: v1
kind: Service
metadata: { name: ${s.name}, namespace: shop }
spec:
  type: ${s.lb ? 'LoadBalancer' : 'ClusterIP'}
  clusterIP: ${s.clusterIP}
  ports: [{ name: http, port: ${s.port ?? 80}, targetPort: 8080${nodePort} }]
${lb}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${s.name}-1, namespace: shop, labels: { kubernetes.io/service-name: ${s.name} } }
addressType: IPv4
ports: [{ name: http, port: 8080, protocol: TCP }]
endpoints: [${backends.map((a) => `{ addresses: [${a}], nodeName: node-a }`).join(', ')}]
`;
}

export interface RunningAgent {
  readonly proc: ChildProcess;
  readonly pid: number;
  log(): string;
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** nsenter switches only the network namespace, so the host's bpffs stays visible. */
function agentArgs(ns: string, args: readonly string[]): string[] {
  return [`--net=/run/netns/${ns}`, 'node', agentBin, ...args];
}

/**
 * The agent's socket LB on a test cgroup unless the test chose (`--cgroup-root`,
 * `--socket-lb`): by default it would attach to the machine's cgroup2 root and
 * translate every process's connects to the test's frontends.
 */
function withTestCgroup(t: ExecutionContext, args: readonly string[]): readonly string[] {
  return args.some((a) => a.startsWith('--cgroup-root') || a.startsWith('--socket-lb')) ? args : [...args, '--cgroup-root', testCgroup(t)];
}

/** JSON log lines unless the test chose (`--log-format`): tests match fields such as "msg":"synced". */
function withJsonLogs(args: readonly string[]): readonly string[] {
  return args.some((a) => a.startsWith('--log-format')) ? args : [...args, '--log-format', 'json'];
}

export function spawnAgent(t: ExecutionContext, ns: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningAgent {
  let log = '';
  const proc = spawn('nsenter', agentArgs(ns, withJsonLogs(withTestCgroup(t, args))), { stdio: ['ignore', 'pipe', 'pipe'], env });
  proc.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  proc.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  // 'close', not 'exit': every line the agent wrote has been read by then.
  const exited = new Promise<number | null>((resolve) => proc.once('close', (code) => resolve(code)));
  t.teardown(() => { proc.kill('SIGKILL'); });
  return {
    proc, pid: proc.pid ?? -1, log: () => log, exited,
    stop: () => { proc.kill('SIGTERM'); return exited; },
  };
}

export interface Exit { readonly code: number | null; readonly stdout: string; readonly stderr: string }

/** Runs an agent that is expected to exit by itself (bounded). */
export async function runAgentToExit(ns: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', agentArgs(ns, args), { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`agent did not exit within ${timeoutMs} ms:\n${stdout}${stderr}`)); }, timeoutMs);
    p.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export interface HealthBody { healthy: boolean; lastError: string | null; attached: boolean; capacity: { rejectedServices: number; rejected: { service: string }[] } }

/** GET /healthz from inside the node's namespace, where the agent listens. */
export function health(ns: string, addr: string): { status: number; body: HealthBody } {
  const out = sh('nsenter', [`--net=/run/netns/${ns}`, 'curl', '-s', '-m', '5', '-w', '\n%{http_code}', `http://${addr}/healthz`]);
  const lines = out.trimEnd().split('\n');
  const status = Number(lines.pop());
  return { status, body: JSON.parse(lines.join('\n')) as HealthBody };
}

export async function waitHealthy(agent: RunningAgent, ns: string, addr: string): Promise<void> {
  await waitFor(() => health(ns, addr).status === 200, 60_000, () => {
    let h = '';
    try { h = JSON.stringify(health(ns, addr).body); } catch (e) { h = String(e); }
    return `not healthy: ${h}\n${agent.log()}`;
  }, 100);
}

/** XDP and tc egress program ids on eth0. */
export function programIds(ns: string): { xdp: number | null; tc: number | null } {
  const [link] = JSON.parse(sh('ip', ['-n', ns, '-j', 'link', 'show', 'eth0'])) as { xdp?: { prog?: { id: number } } }[];
  let tc: number | null = null;
  try {
    const filters = JSON.parse(sh('tc', ['-n', ns, '-j', 'filter', 'show', 'dev', 'eth0', 'egress'])) as { options?: { prog?: { id?: number } } }[];
    tc = filters.find((f) => f.options?.prog?.id !== undefined)?.options?.prog?.id ?? null;
  } catch { /* no clsact qdisc */ }
  return { xdp: link?.xdp?.prog?.id ?? null, tc };
}

const PER_CPU_TYPES = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);

/** Every map pinned under `root`, in every layout directory: map id and a digest of its entries' bytes (sorted, so iteration order does not matter). */
export function mapsSnapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of layoutDirs(root)) {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) continue;
      out[relative(root, path)] = mapDigest(path, name);
    }
  }
  return out;
}

function mapDigest(path: string, name: string): string {
  const fd = native().objGet(path);
  const info = native().mapInfo(fd);
  if (info.type === MapType.SK_STORAGE || info.type === MapType.RINGBUF) {
    // Keyed by socket, or records for one reader (monitor_events): nothing userspace can walk.
    native().closeFd(fd);
    return `id ${info.id}: ${info.type === MapType.RINGBUF ? 'ring buffer' : 'per-socket storage'}`;
  }
  const m = new BpfMap(fd, scalar(bytes(info.keySize)), scalar(bytes(info.valueSize)), true, name);
  const raw = PER_CPU_TYPES.has(info.type) ? Math.ceil(info.valueSize / 8) * 8 * native().numPossibleCpus() : info.valueSize;
  try {
    const entries: string[] = [];
    m.scanRaw((keys, ko, values, vo) => {
      entries.push(`${keys.toString('hex', ko, ko + info.keySize)}=${values.toString('hex', vo, vo + raw)}`);
    });
    return `id ${info.id}: ${entries.length} entries, sha256 ${createHash('sha256').update(entries.sort().join(',')).digest('hex')}`;
  } finally {
    m.close();
  }
}

export function datapathSnapshot(ns: string, root: string): { programs: ReturnType<typeof programIds>; maps: Record<string, string> } {
  return { programs: programIds(ns), maps: mapsSnapshot(root) };
}
