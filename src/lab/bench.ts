/**
 * `lbctl lab bench`: the seed result. Node-a (where the client's packets for
 * the VIP enter) has its link capped; the client downloads through the VIP
 * from pods on other nodes.
 *  1. SNAT vs DSR, one run: iperf3 -R through the VIP to node-b's pod, in
 *     each mode: throughput and the sender's TCP retransmits.
 *  2. DSR with 1, 2, 3 backend nodes serving in parallel: HTTP downloads on
 *     many connections through the VIP (Maglev spreads them), aggregate
 *     throughput, each node's share, the pods' retransmits. Every node of the
 *     lab shares this machine's CPUs, so with uncapped links the aggregate is
 *     the CPUs' limit whatever the number of nodes; a cap on each backend
 *     node's link (default 500 Mbit/s) stands for a node's own capacity.
 */
import { cpus, release } from 'node:os';
import type { Mode } from '../agent/config.js';
import type { Progress } from './build.js';
import { tcpRetransmits } from './counters.js';
import { iperfDownload } from './iperf.js';
import { Lab } from './lab.js';
import { LAB_VIP } from './manifests.js';
import { downloadUrl, measurePaths, podNode } from './probes.js';
import { capLink } from './shaping.js';

export interface BenchOptions {
  /** node-a's link. */
  readonly capMbit?: number;
  /** Each backend node's link in the scaling runs; 0: uncapped. */
  readonly backendCapMbit?: number;
  /** Length of each measurement. */
  readonly seconds?: number;
  readonly streams?: number;
  /** Parallel HTTP connections in the scaling runs. */
  readonly connections?: number;
  readonly progress?: Progress;
  readonly id?: string;
}

export interface ModeRun {
  readonly mode: Mode;
  readonly mbitPerSecond: number;
  readonly retransmits: number;
  readonly seconds: number;
  /** Bytes node-a's uplink carried (received + sent) during the run. */
  readonly nodeABytes: number;
}

export interface ScalingRun {
  readonly backendNodes: number;
  readonly mbitPerSecond: number;
  readonly retransmits: number;
  readonly seconds: number;
  /** Share of the bytes each backend node served. */
  readonly perNode: Readonly<Record<string, number>>;
  readonly nodeABytes: number;
  readonly errors: number;
}

export interface BenchResult {
  readonly machine: { readonly cpus: number; readonly cpuModel: string; readonly kernel: string; readonly node: string };
  readonly setup: {
    readonly vip: string;
    readonly nodeACapMbit: number;
    /** null: uncapped. */
    readonly backendCapMbit: number | null;
    readonly seconds: number;
    readonly iperfStreams: number;
    readonly connections: number;
  };
  readonly snat: ModeRun;
  readonly dsr: ModeRun;
  /** DSR throughput over SNAT throughput, under the cap. */
  readonly dsrOverSnat: number;
  readonly dsrScaling: readonly ScalingRun[];
}

interface RunOptions { readonly seconds: number; readonly streams: number; readonly connections: number; readonly progress: Progress }

const mbit = (bits: number): number => Math.round(bits / 1e4) / 100;
/** Bigger than any run moves: the client cuts each download when the time is up. */
const LOAD_BYTES = 4 * 1024 ** 3;
const BACKEND_NODES = ['node-b', 'node-c', 'node-d'];

function nodeABytes(nodes: Readonly<Record<string, { rxBytes: number; txBytes: number }>>): number {
  const a = nodes['node-a'];
  return (a?.rxBytes ?? 0) + (a?.txBytes ?? 0);
}

/** iperf3 -R through the VIP to node-b's pod in `mode` (the agents restart in it). */
export async function benchMode(lab: Lab, mode: Mode, o: RunOptions): Promise<ModeRun> {
  await lab.setService({ onlyNodes: ['node-b'] });
  await lab.setMode(mode);
  o.progress(`${mode}: iperf3 -R through ${LAB_VIP} to node-b's pod, ${o.streams} streams, ${o.seconds} s`);
  const r = await measurePaths(lab, () => iperfDownload(lab.topo.client.ns, { server: LAB_VIP, seconds: o.seconds, streams: o.streams }));
  return {
    mode, mbitPerSecond: mbit(r.result.bitsPerSecond), retransmits: r.result.retransmits,
    seconds: Number(r.result.seconds.toFixed(2)), nodeABytes: nodeABytes(r.nodes),
  };
}

/** HTTP downloads on many connections through the VIP, served by the pods of `serving` (in the current mode). */
export async function benchServing(lab: Lab, serving: readonly string[], o: RunOptions): Promise<ScalingRun> {
  await lab.setService({ onlyNodes: serving });
  o.progress(`${lab.currentMode}: ${o.connections} HTTP downloads through ${LAB_VIP} served by ${serving.join(', ')}, ${o.seconds} s`);
  const pods = lab.topo.nodes.filter((n) => serving.includes(n.name)).flatMap((n) => n.pods.map((p) => p.ns));
  const retransBefore = tcpRetransmits(pods);
  const r = await measurePaths(lab, () => lab.client({ op: 'load', url: downloadUrl(LOAD_BYTES), connections: o.connections, seconds: o.seconds }, (o.seconds + 30) * 1000));
  const retransmits = tcpRetransmits(pods) - retransBefore;
  const perNode: Record<string, number> = {};
  for (const [pod, bytes] of Object.entries(r.result.perPod)) {
    const node = podNode(lab.topo, pod);
    perNode[node] = (perNode[node] ?? 0) + bytes / Math.max(1, r.result.bytes);
  }
  return {
    backendNodes: serving.length, mbitPerSecond: mbit((r.result.bytes * 8) / r.result.seconds), retransmits,
    seconds: Number(r.result.seconds.toFixed(2)),
    perNode: Object.fromEntries(Object.entries(perNode).sort().map(([n, share]) => [n, Number(share.toFixed(3))])),
    nodeABytes: nodeABytes(r.nodes), errors: r.result.errors.length,
  };
}

export function machine(): BenchResult['machine'] {
  const cpu = cpus();
  return { cpus: cpu.length, cpuModel: cpu[0]?.model ?? '', kernel: release(), node: process.version };
}

export function ratio(dsr: ModeRun, snat: ModeRun): number {
  return Number((dsr.mbitPerSecond / Math.max(snat.mbitPerSecond, 1e-9)).toFixed(1));
}

export async function runBench(opts: BenchOptions = {}): Promise<BenchResult> {
  const o: RunOptions = {
    seconds: opts.seconds ?? 8, streams: opts.streams ?? 4, connections: opts.connections ?? 24,
    progress: opts.progress ?? ((): void => undefined),
  };
  const capMbit = opts.capMbit ?? 100;
  const backendCapMbit = opts.backendCapMbit ?? 500;
  // node-a is where the client's packets enter; b, c, d serve.
  const lab = await Lab.up({ ...(opts.id ? { id: opts.id } : {}), nodes: 4, podsPerNode: 1, mode: 'snat', service: { onlyNodes: ['node-b'] }, progress: o.progress });
  try {
    capLink(lab.topo, lab.node('node-a'), { mbit: capMbit });
    o.progress(`capped node-a's link at ${capMbit} Mbit/s (tc tbf on both ends of its uplink)`);
    const snat = await benchMode(lab, 'snat', o);
    const dsr = await benchMode(lab, 'dsr', o);

    if (backendCapMbit > 0) {
      for (const n of BACKEND_NODES) capLink(lab.topo, lab.node(n), { mbit: backendCapMbit });
      o.progress(`capped the links of ${BACKEND_NODES.join(', ')} at ${backendCapMbit} Mbit/s each`);
    }
    const dsrScaling: ScalingRun[] = [];
    for (let k = 1; k <= BACKEND_NODES.length; k++) dsrScaling.push(await benchServing(lab, BACKEND_NODES.slice(0, k), o));
    return {
      machine: machine(),
      setup: {
        vip: LAB_VIP, nodeACapMbit: capMbit, backendCapMbit: backendCapMbit > 0 ? backendCapMbit : null,
        seconds: o.seconds, iperfStreams: o.streams, connections: o.connections,
      },
      snat, dsr, dsrOverSnat: ratio(dsr, snat), dsrScaling,
    };
  } finally {
    lab.down();
  }
}

export const BENCH_HEAD = ['RUN', 'SERVED BY', 'TOOL', 'MBIT/S', 'RETRANSMITS', 'NODE-A CARRIED'];

/** The plain table: one row per run. */
export function benchRows(r: BenchResult): string[][] {
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const cap = r.setup.backendCapMbit === null ? 'uncapped' : `${r.setup.backendCapMbit} Mbit/s each`;
  return [
    ...[r.snat, r.dsr].map((m) => [m.mode, 'node-b', `iperf3 -P ${r.setup.iperfStreams}`, m.mbitPerSecond.toFixed(1), String(m.retransmits), mib(m.nodeABytes)]),
    ...r.dsrScaling.map((s) => [
      `dsr, ${s.backendNodes} backend node${s.backendNodes === 1 ? '' : 's'} (${cap})`,
      Object.keys(s.perNode).map((n) => `${n} ${(100 * (s.perNode[n] ?? 0)).toFixed(0)}%`).join(', ') || '-',
      `http x ${r.setup.connections}`, s.mbitPerSecond.toFixed(1), String(s.retransmits), mib(s.nodeABytes),
    ]),
  ];
}
