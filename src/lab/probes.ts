/**
 * Measurements on a running lab, as facts (no verdicts): who answered and
 * which client address it saw; which links carried a transfer. The e2e
 * tests assert on them; `lab test` and `lab demo` print them.
 */
import type { GetResult } from './client-tool.js';
import { counterDelta, linkCounters, type LinkCounters } from './counters.js';
import type { Lab } from './lab.js';
import { LAB_HTTP_PORT, LAB_NODE_PORT, LAB_VIP } from './manifests.js';
import type { LabTopology } from './topology.js';

export const VIP_URL = `http://${LAB_VIP}:${LAB_HTTP_PORT}/`;

export function nodePortUrl(topo: LabTopology, node = topo.nodes[0]?.name ?? 'node-a'): string {
  const n = topo.nodes.find((x) => x.name === node);
  if (!n) throw new RangeError(`no node ${node}`);
  return `http://${n.address}:${LAB_NODE_PORT}/`;
}

/** The node a pod runs on. */
export function podNode(topo: LabTopology, pod: string): string {
  const n = topo.nodes.find((x) => x.pods.some((p) => p.name === pod));
  if (!n) throw new RangeError(`no pod ${pod}`);
  return n.name;
}

export interface Seen {
  readonly pod: string;
  readonly node: string;
  /** The backend runs on the node the client's packets enter (node-a). */
  readonly local: boolean;
  readonly remoteAddress: string;
}

export interface SeenReport {
  readonly seen: readonly Seen[];
  readonly errors: readonly string[];
}

/**
 * New connections to `url` until `enough` holds for what was seen (batches of
 * `batch`, at most `max` connections): Maglev decides who answers, so a
 * local and a remote backend are both met within a few batches.
 */
export async function seenUntil(lab: Lab, url: string, enough: (seen: readonly Seen[]) => boolean, batch = 12, max = 72): Promise<SeenReport> {
  const entry = lab.topo.nodes[0]?.name ?? '';
  const seen: Seen[] = [];
  const errors: string[] = [];
  while (seen.length + errors.length < max && !enough(seen)) {
    const results: GetResult[] = await lab.client({ op: 'get', url, count: batch, timeoutMs: 2_000 });
    for (const r of results) {
      if (!r.answer) { errors.push(r.error ?? 'no answer'); continue; }
      const node = podNode(lab.topo, r.answer.pod);
      seen.push({ pod: r.answer.pod, node, local: node === entry, remoteAddress: r.answer.remoteAddress });
    }
  }
  return { seen, errors };
}

export const sawLocalAndRemote = (seen: readonly Seen[]): boolean => seen.some((s) => s.local) && seen.some((s) => !s.local);

export interface PathReport<T> {
  readonly result: T;
  /** Uplink counters of every node over the transfer. */
  readonly nodes: Readonly<Record<string, LinkCounters>>;
  readonly client: LinkCounters;
}

/** Runs `transfer` and reports what crossed the client's and every node's uplink meanwhile. */
export async function measurePaths<T>(lab: Lab, transfer: () => Promise<T>): Promise<PathReport<T>> {
  const read = (): [Record<string, LinkCounters>, LinkCounters] => [
    Object.fromEntries(lab.topo.nodes.map((n) => [n.name, linkCounters(n.ns, n.uplink)])),
    linkCounters(lab.topo.client.ns, lab.topo.client.uplink),
  ];
  const [nodesBefore, clientBefore] = read();
  const result = await transfer();
  const [nodesAfter, clientAfter] = read();
  const nodes = Object.fromEntries(Object.entries(nodesAfter).map(([k, v]) => [k, counterDelta(nodesBefore[k] ?? v, v)]));
  return { result, nodes, client: counterDelta(clientBefore, clientAfter) };
}

export function downloadUrl(bytes: number, rate?: number): string {
  return `http://${LAB_VIP}:${LAB_HTTP_PORT}/bytes/${bytes}${rate ? `?rate=${rate}` : ''}`;
}

export const MB = 1024 * 1024;

export function human(bytes: number): string {
  if (Math.abs(bytes) >= MB) return `${(bytes / MB).toFixed(1)} MiB`;
  if (Math.abs(bytes) >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} B`;
}
