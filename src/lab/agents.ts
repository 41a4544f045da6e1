/**
 * One dsrlb-agent per lab node, standalone: its own manifests directory, its
 * own bpffs root, the node's uplink as its device. An agent logs JSON lines
 * (--log-format json), one with "msg":"synced" after each successful sync; the lab waits for those.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_HEALTH_ADDR, DEFAULT_METRICS_ADDR, type Mode } from '../agent/config.js';
import { agentCgroupRoot } from './cgroups.js';
import { LabEntries, NODE } from './entries.js';
import { fileSize, readLog, startProcess, stopProcess, summarizeLine, waitFor, type LabProcess } from './processes.js';
import type { LabNode, LabTopology } from './topology.js';

/** The agent's default ports: each lab node is a network namespace of its own, so they never collide. */
export const AGENT_METRICS_PORT = Number(DEFAULT_METRICS_ADDR.split(':')[1]);
export const AGENT_HEALTH_PORT = Number(DEFAULT_HEALTH_ADDR.split(':')[1]);
const SYNCED = '"msg":"synced"';
const SYNC_FAILED = '"msg":"sync failed';

export interface AgentOptions {
  readonly mode: Mode;
  /** Inter-node MTU; default: the uplink's. */
  readonly mtu?: number;
  readonly xdpMode?: 'native' | 'generic';
  readonly logLevel?: string;
  /** Another build's objects (the upgrade tests); default: build/bpf. */
  readonly bpfObjectDir?: string;
}

export function agentBpffsRoot(topo: LabTopology, node: LabNode): string {
  return join(topo.bpffsBase, node.name);
}

export function agentManifestsDir(topo: LabTopology, node: LabNode): string {
  return join(topo.workDir, 'manifests', node.name);
}

export function agentLog(topo: LabTopology, node: LabNode): string {
  return join(topo.workDir, 'logs', `agent-${node.name}.log`);
}

/** The agent's command line (docs/design.md §4 flags), pure. */
export function agentArgv(topo: LabTopology, node: LabNode, opts: AgentOptions): string[] {
  return [
    NODE, LabEntries.agent,
    '--manifests', agentManifestsDir(topo, node),
    '--node-name', node.name,
    '--devices', node.uplink,
    '--mode', opts.mode,
    '--bpffs-root', agentBpffsRoot(topo, node),
    '--node-address', node.address,
    '--cgroup-root', agentCgroupRoot(topo, node),
    '--metrics-addr', `${node.address}:${AGENT_METRICS_PORT}`,
    '--health-addr', `127.0.0.1:${AGENT_HEALTH_PORT}`,
    '--log-format', 'json',
    ...(opts.mtu !== undefined ? ['--mtu', String(opts.mtu)] : []),
    ...(opts.xdpMode ? ['--xdp-mode', opts.xdpMode] : []),
    ...(opts.logLevel ? ['--log-level', opts.logLevel] : []),
    ...(opts.bpfObjectDir ? ['--bpf-object-dir', opts.bpfObjectDir] : []),
  ];
}

/** Writes the same manifests for every agent, atomically (the watchers never see half a file). */
export function writeManifests(topo: LabTopology, yaml: string): void {
  for (const node of topo.nodes) {
    const dir = agentManifestsDir(topo, node);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '.lab.yaml.tmp'), yaml);
    renameSync(join(dir, '.lab.yaml.tmp'), join(dir, 'lab.yaml'));
  }
}

export class LabAgent {
  private current: LabProcess | undefined;

  constructor(readonly topo: LabTopology, readonly node: LabNode, public options: AgentOptions, private readonly stash: string) {}

  get process(): LabProcess | undefined {
    return this.current;
  }

  get log(): string {
    return agentLog(this.topo, this.node);
  }

  /** Starts the agent; resolves once it has synced (or fails naming its log). */
  async start(timeoutMs = 20_000): Promise<LabProcess> {
    mkdirSync(join(this.topo.workDir, 'logs'), { recursive: true });
    mkdirSync(agentBpffsRoot(this.topo, this.node), { recursive: true });
    const from = fileSize(this.log);
    const proc = startProcess({
      name: `agent ${this.node.name}`, ns: this.node.ns, log: this.log,
      argv: agentArgv(this.topo, this.node, this.options), hostBpffs: { stash: this.stash },
    });
    this.current = proc;
    await this.waitSynced(from, timeoutMs);
    return proc;
  }

  /** Number of syncs logged from byte `from` of the log on. */
  syncs(from = 0): number {
    if (!this.current) return 0;
    return readLog(this.current).slice(from).split(SYNCED).length - 1;
  }

  /** A mark to wait for the next sync from: the log's current size. */
  mark(): number {
    return fileSize(this.log);
  }

  /**
   * Waits for a "synced" line after byte `from`. A "sync failed" line ends the
   * wait at once: the agent only retries on the next change.
   */
  async waitSynced(from: number, timeoutMs = 15_000): Promise<void> {
    const p = this.current;
    if (!p) throw new Error(`agent ${this.node.name} is not running`);
    const failed = (): string | undefined => {
      const line = readLog(p).slice(from).split('\n').find((l) => l.includes(SYNC_FAILED));
      return line === undefined ? undefined : summarizeLine(line);
    };
    await waitFor(p, '"synced" in its log', () => this.syncs(from) > 0, timeoutMs, failed);
  }

  /** kill -9 (what a crash looks like) or SIGTERM (a clean stop: programs and maps stay). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.current) await stopProcess(this.current, signal);
  }
}
