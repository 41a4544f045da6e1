/**
 * The lab agents' pinned maps, read from the host (each agent pins under its
 * own directory of the host's bpffs): datapath counters and the backend
 * node's reverse-NAT entries, as evidence for tests and the demo.
 */
import { currentLayoutDir } from '../bpf/layout-read.js';
import { mapFill, MapSpecs, openPinned } from '../bpf/map-specs.js';
import { readStats } from '../bpf/stats.js';
import { agentBpffsRoot } from './agents.js';
import type { LabNode, LabTopology } from './topology.js';

export function nodeStats(topo: LabTopology, node: LabNode): Record<string, number> {
  return readStats(currentLayoutDir(agentBpffsRoot(topo, node)));
}

export function statsDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

export interface RevnatEntry {
  /** The reply's tuple as the pod sends it: pod -> client. */
  readonly pod: string;
  readonly client: string;
  readonly proto: number;
  /** The address:port the reply leaves with. */
  readonly frontend: string;
}

/** Reverse-NAT entries of a (backend) node: established (lb4_dsr_revnat) or not (lb4_dsr_revnat_new). */
export function dsrRevnatEntries(topo: LabTopology, node: LabNode, tables: 'both' | 'established' | 'unconfirmed' = 'both'): RevnatEntry[] {
  const specs = tables === 'both' ? [MapSpecs.dsrRevnat, MapSpecs.dsrRevnatNew]
    : [tables === 'established' ? MapSpecs.dsrRevnat : MapSpecs.dsrRevnatNew];
  return specs.flatMap((spec) => {
    const m = openPinned(currentLayoutDir(agentBpffsRoot(topo, node)), spec);
    try {
      return m.entries().map(([k, v]) => ({
        pod: `${k.saddr}:${k.sport}`, client: `${k.daddr}:${k.dport}`, proto: k.proto, frontend: `${v.address}:${v.port}`,
      }));
    } finally {
      m.close();
    }
  });
}

/** Entries / max entries of a map of a node's agent. */
export function mapFillOf(topo: LabTopology, node: LabNode, spec: (typeof MapSpecs)[keyof typeof MapSpecs]): { entries: number; max: number } {
  const { entries, info } = mapFill(currentLayoutDir(agentBpffsRoot(topo, node)), spec as Parameters<typeof mapFill>[1]);
  return { entries, max: info.maxEntries };
}

/** How many LB-node flow entries (lb4_flows and lb4_flows_new) a node holds (the stateless path writes none for DSR flows). */
export function flowCount(topo: LabTopology, node: LabNode): number {
  const dir = currentLayoutDir(agentBpffsRoot(topo, node));
  return [MapSpecs.flows, MapSpecs.flowsNew].reduce((n, spec) => {
    const m = openPinned(dir, spec);
    try {
      return n + [...m.keys()].length;
    } finally {
      m.close();
    }
  }, 0);
}
