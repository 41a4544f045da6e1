/**
 * A running lab: namespaces and links (build.ts), the pass programs on the
 * fabric side of node uplinks, pod servers, one agent per node, and the
 * client's tools. `Lab.up` is all or nothing: a failed step tears down what
 * was made and reports one line naming the step and what to check.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Mode } from '../agent/config.js';
import { DsrlbError } from '../errors.js';
import { LabAgent, writeManifests, type AgentOptions } from './agents.js';
import { createLab, destroyLab, labNamespaces, type Progress } from './build.js';
import { createLabCgroups, nodeCgroup, removeLabCgroups } from './cgroups.js';
import { holdConnections, runClient, runSocketClient, type ClientOpResult, type HeldConnections } from './client.js';
import type { SocketOp } from './socket-client.js';
import type { ClientOp } from './client-tool.js';
import { LabEntries, NODE, requireBuilt } from './entries.js';
import { labManifests, type LabServiceOptions } from './manifests.js';
import { startPods } from './pods.js';
import type { LabProcess } from './processes.js';
import { nsRun } from './sh.js';
import { currentOwner, readState, writeState, type LabState } from './state.js';
import { labTopology, type LabNode, type LabTopology } from './topology.js';

export interface LabUpOptions {
  /** 1-8 lower-case letters or digits; default random. */
  readonly id?: string;
  readonly nodes?: number;
  readonly podsPerNode?: number;
  readonly mode?: Mode;
  readonly mtu?: number;
  /** false: the lab without agents (to test the lab itself, or to run agents by hand). */
  readonly agents?: boolean;
  /** More flags for every agent (e.g. table sizes). */
  readonly agentArgs?: readonly string[];
  readonly service?: LabServiceOptions;
  /** `lbctl lab up`: the lab stays after this process ends, until `lab down`. */
  readonly persistent?: boolean;
  readonly progress?: Progress;
}

/** What to check when a step fails. */
const REMEDIES: Readonly<Record<string, string>> = {
  prepare: 'run make build',
  namespaces: 'run as root with iproute2 and ethtool installed (make deps)',
  'xdp-pass': 'run make build (build/bpf/xdp_pass.o, the native addon) and check that the kernel allows XDP on veth',
  pods: 'run make build (dist/lab/pod-server.js), check iperf3 is installed (make deps), read the logs',
  agents: 'read the agent logs',
};

export function randomLabId(): string {
  // A letter first, so ids never look like numbers in namespace names.
  return `l${randomBytes(4).toString('hex').slice(0, 5)}`;
}

export class Lab {
  readonly agents = new Map<string, LabAgent>();
  private processes: LabProcess[] = [];
  private service: LabServiceOptions;
  private manifestsText = '';
  private exitHook: (() => void) | undefined;

  private constructor(readonly topo: LabTopology, private mode: Mode, private readonly opts: LabUpOptions) {
    this.service = opts.service ?? {};
  }

  get id(): string {
    return this.topo.id;
  }

  get currentMode(): Mode {
    return this.mode;
  }

  static async up(opts: LabUpOptions = {}): Promise<Lab> {
    const progress = opts.progress ?? ((): void => undefined);
    const topo = labTopology({ id: opts.id ?? randomLabId(), nodes: opts.nodes ?? 3, podsPerNode: opts.podsPerNode ?? 1 });
    const lab = new Lab(topo, opts.mode ?? 'dsr', opts);
    const t0 = Date.now();
    if (labNamespaces(topo.prefix).length > 0 || existsSync(topo.workDir)) {
      throw new DsrlbError('ERR_LAB_EXISTS', `a lab with id '${topo.id}' already exists`, {
        subject: topo.workDir, remedy: `pick another id, or remove it: lbctl lab down --id ${topo.id}`,
      });
    }
    let step = 'prepare';
    try {
      requireBuilt('podServer', 'clientTool', 'attachXdpPass', 'xdpPassObject', ...(opts.agents === false ? [] : ['agent', 'agentMain'] as const));
      mkdirSync(join(topo.workDir, 'logs'), { recursive: true });
      mkdirSync(join(topo.workDir, 'bpffs-stash'), { recursive: true });
      lab.saveState();
      if (!opts.persistent) {
        // Whatever ends this process (a failed test, ^C handled elsewhere) ends the lab.
        lab.exitHook = (): void => teardownLab(topo.id, { keepLogs: true });
        process.once('exit', lab.exitHook);
      }

      step = 'namespaces';
      createLab(topo, progress);
      createLabCgroups(topo);

      step = 'xdp-pass';
      progress('attaching xdp_pass to the fabric side of every node uplink');
      nsRun(topo.fabricNs, NODE, [LabEntries.attachXdpPass, ...topo.nodes.map((n) => n.fabricPort)]);

      step = 'pods';
      progress(`starting pod servers and iperf3 in ${topo.nodes.reduce((k, n) => k + n.pods.length, 0)} pods`);
      lab.processes.push(...await startPods(topo));
      lab.saveState();

      if (opts.agents !== false) {
        step = 'agents';
        lab.writeManifests();
        progress(`starting dsrlb-agent (--mode ${lab.mode}) on ${topo.nodes.map((n) => n.name).join(', ')} and waiting for their first sync`);
        for (const node of topo.nodes) lab.agents.set(node.name, new LabAgent(topo, node, lab.agentOptions(), join(topo.workDir, 'bpffs-stash')));
        await Promise.all([...lab.agents.values()].map((a) => a.start()));
        lab.saveState();
      }
      progress(`lab ${topo.id} is up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return lab;
    } catch (e) {
      const detail = e instanceof Error ? e.message : String(e);
      const keepLogs = step === 'pods' || step === 'agents';
      lab.releaseExitHook();
      teardownLab(topo.id, { keepLogs });
      const remedy = e instanceof DsrlbError && e.remedy ? e.remedy : `${REMEDIES[step] ?? 'see the message'}${keepLogs ? ` in ${topo.workDir}/logs` : ''}`;
      throw new DsrlbError('ERR_LAB_UP', `lab up failed at step '${step}': ${detail.split('\n')[0]}`, { remedy, cause: e });
    }
  }

  private agentOptions(): AgentOptions {
    return {
      mode: this.mode, ...(this.opts.mtu !== undefined ? { mtu: this.opts.mtu } : {}),
      ...(this.opts.agentArgs ? { extraArgs: this.opts.agentArgs } : {}),
    };
  }

  private saveState(): void {
    const state: LabState = {
      id: this.topo.id,
      createdAt: readState(this.topo.workDir)?.createdAt ?? new Date().toISOString(),
      owner: this.opts.persistent ? null : currentOwner(),
      nodes: this.topo.nodes.length,
      podsPerNode: this.topo.nodes[0]?.pods.length ?? 0,
      mode: this.mode,
      processes: [...this.processes, ...[...this.agents.values()].flatMap((a) => (a.process ? [a.process] : []))],
    };
    writeState(this.topo, state);
  }

  private writeManifests(): boolean {
    const text = labManifests(this.topo, this.service);
    const changed = text !== this.manifestsText;
    writeManifests(this.topo, text);
    this.manifestsText = text;
    return changed;
  }

  node(name: string): LabNode {
    const n = this.topo.nodes.find((x) => x.name === name);
    if (!n) throw new RangeError(`no node '${name}' in lab ${this.id}`);
    return n;
  }

  agent(name: string): LabAgent {
    const a = this.agents.get(name);
    if (!a) throw new RangeError(`no agent on '${name}' in lab ${this.id}`);
    return a;
  }

  /** Rewrites every agent's manifests and waits until each has synced the change. */
  async setService(service: LabServiceOptions, timeoutMs = 15_000): Promise<void> {
    this.service = service;
    const marks = new Map([...this.agents].map(([name, a]) => [name, a.mark()]));
    if (!this.writeManifests()) return;
    await Promise.all([...this.agents].map(([name, a]) => a.waitSynced(marks.get(name) ?? 0, timeoutMs)));
  }

  /** Restarts every agent with another --mode (SIGTERM leaves programs and maps; the new agent adopts them). */
  async setMode(mode: Mode): Promise<void> {
    if (mode === this.mode) return;
    this.mode = mode;
    await Promise.all([...this.agents.values()].map(async (a) => {
      a.options = this.agentOptions();
      await a.stop('SIGTERM');
      await a.start();
    }));
    this.saveState();
  }

  /**
   * Replaces every node's agent one node at a time, as the Helm chart's
   * DaemonSet rolls (maxUnavailable 1): SIGTERM (programs and maps stay),
   * start the new one, wait until it has synced (ready) before the next node.
   * Returns how long each node had no agent.
   */
  async rollAgents(): Promise<{ node: string; withoutAgentMs: number }[]> {
    const out: { node: string; withoutAgentMs: number }[] = [];
    for (const [node, a] of this.agents) {
      const t0 = Date.now();
      await a.stop('SIGTERM');
      await a.start();
      out.push({ node, withoutAgentMs: Date.now() - t0 });
    }
    return out;
  }

  /** Runs one of the client's tools in the client namespace. */
  client<T extends ClientOp['op']>(op: Extract<ClientOp, { op: T }>, timeoutMs?: number): Promise<ClientOpResult<T>> {
    return runClient(this.topo, op, timeoutMs);
  }

  /**
   * Runs the socket client on a node: in namespace `ns` (the node's own, or
   * one of its pods') as a process of the node's cgroup, so the node's socket
   * LB balances its connects and sends.
   */
  onNode<T>(nodeName: string, ns: string, op: SocketOp, timeoutMs?: number): Promise<T> {
    return runSocketClient<T>(ns, op, nodeCgroup(this.topo, this.node(nodeName)), timeoutMs);
  }

  /** Keep-alive connections from the client, held open across changes. */
  hold(url: string, count: number): Promise<HeldConnections> {
    return holdConnections(this.topo, url, count);
  }

  private releaseExitHook(): void {
    if (this.exitHook) process.removeListener('exit', this.exitHook);
    this.exitHook = undefined;
  }

  /** Tears everything down; keeps the logs when asked (a failed test). */
  down(opts: { keepLogs?: boolean } = {}): void {
    this.releaseExitHook();
    teardownLab(this.topo.id, opts);
  }
}

/**
 * Removes a lab by id: every process in its namespaces (by pid, from
 * `ip netns pids`), the namespaces (their veths and attached programs go
 * with them), the agents' bpffs directories (the pinned maps and socket LB
 * links), the nodes' cgroups, and the work
 * directory unless `keepLogs`. Idempotent, synchronous (usable on exit).
 */
export function teardownLab(id: string, opts: { keepLogs?: boolean } = {}): void {
  const topo = labTopology({ id, nodes: 1 });
  destroyLab(topo.prefix);
  // Pinned socket LB links go with the bpffs root, the cgroups after.
  rmSync(topo.bpffsBase, { recursive: true, force: true });
  removeLabCgroups(id);
  if (!opts.keepLogs) rmSync(topo.workDir, { recursive: true, force: true });
  else rmSync(join(topo.workDir, 'bpffs-stash'), { recursive: true, force: true });
}
