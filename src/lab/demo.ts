/**
 * `lbctl lab demo` (what `make demo` runs): brings a lab up, tells what
 * happens on screen — what the client sent, which backend answered and which
 * client address it saw, which node carried the reply, SNAT vs DSR under a
 * capped link — and tears down.
 */
import { benchMode, ratio, type ModeRun } from './bench.js';
import { dsrRevnatEntries } from './datapath-view.js';
import { Lab } from './lab.js';
import { LAB_HTTP_PORT, LAB_VIP } from './manifests.js';
import { downloadUrl, human, MB, measurePaths, sawLocalAndRemote, seenUntil, VIP_URL } from './probes.js';
import { capLink } from './shaping.js';

export interface DemoOptions {
  readonly id?: string;
  readonly capMbit?: number;
  readonly seconds?: number;
  /** Prints a paragraph. */
  readonly say: (text: string) => void;
  /** Prints a table. */
  readonly table: (head: string[], rows: string[][]) => void;
}

export interface DemoResult {
  readonly snat: ModeRun;
  readonly dsr: ModeRun;
  readonly dsrOverSnat: number;
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const capMbit = o.capMbit ?? 100;
  const seconds = o.seconds ?? 5;
  o.say('dsrlb demo: a client, an L2 fabric and 3 nodes with one pod each, in network namespaces; one dsrlb-agent per node.');
  const lab = await Lab.up({ ...(o.id ? { id: o.id } : {}), nodes: 3, podsPerNode: 1, progress: (l) => o.say(`  ${l}`) });
  try {
    const client = lab.topo.client.address;
    const nodeA = lab.node('node-a');
    o.say(`\n1. The client ${client} sends HTTP GET ${VIP_URL} on new connections. Its route for the VIP points at node-a`
      + ` (${nodeA.address}), as an upstream router would; node-a's XDP program picks a backend with Maglev.`);
    const { seen } = await seenUntil(lab, VIP_URL, sawLocalAndRemote, 6, 36);
    o.table(['#', 'ANSWERED BY', 'ON', 'PATH FROM NODE-A', 'CLIENT ADDRESS THE POD SAW'],
      seen.slice(0, 8).map((s, i) => [String(i + 1), s.pod, s.node, s.local ? 'local: DNAT only' : 'Geneve + DSR option', s.remoteAddress]));
    const kept = seen.every((s) => s.remoteAddress === client);
    o.say(kept ? `   Every pod saw the client's own address ${client}, local or remote.`
      : `   Not every pod saw ${client}: ${[...new Set(seen.map((s) => s.remoteAddress))].join(', ')}.`);

    const bytes = 64 * MB;
    o.say(`\n2. Which node carries the reply? The client downloads ${human(bytes)} through the VIP, served by web-b1 on node-b.`);
    await lab.setService({ onlyNodes: ['node-b'] });
    const r = await measurePaths(lab, () => lab.client({ op: 'download', url: downloadUrl(bytes) }));
    const links = [
      ['client eth0', r.client],
      ...lab.topo.nodes.map((n) => [`${n.name} eth0`, r.nodes[n.name]] as const),
    ] as const;
    o.table(['LINK', 'RECEIVED', 'SENT'], links.map(([name, c]) => [name, human(c?.rxBytes ?? 0), human(c?.txBytes ?? 0)]));
    const entries = dsrRevnatEntries(lab.topo, lab.node('node-b')).filter((e) => e.client.startsWith(`${client}:`));
    const a = r.nodes['node-a'];
    o.say(`   The client got ${human(r.result.bytes)}${r.result.error ? ` (error: ${r.result.error})` : ''} on its connection to ${LAB_VIP}:${LAB_HTTP_PORT}.`
      + ` node-a carried ${human((a?.rxBytes ?? 0) + (a?.txBytes ?? 0))} (the requests and ACKs it forwards);`
      + ` node-b sent ${human(r.nodes['node-b']?.txBytes ?? 0)} straight to the client,`
      + ` rewritten to come from ${entries[0]?.frontend ?? `${LAB_VIP}:${LAB_HTTP_PORT}`} by its tc program`
      + ` (node-b's lb4_dsr_revnat holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} for the client).`);

    o.say(`\n3. SNAT (kube-proxy's way: the reply returns through node-a) vs DSR, with node-a's link capped at ${capMbit} Mbit/s;`
      + ` iperf3 downloads from node-b's pod through the VIP, ${seconds} s each (the agents restart in each mode).`);
    capLink(lab.topo, nodeA, { mbit: capMbit });
    const opts = { seconds, streams: 4, connections: 8, progress: (l: string): void => o.say(`  ${l}`) };
    const snat = await benchMode(lab, 'snat', opts);
    const dsr = await benchMode(lab, 'dsr', opts);
    o.table(['MODE', 'MBIT/S', 'RETRANSMITS', 'NODE-A CARRIED'],
      [snat, dsr].map((m) => [m.mode, m.mbitPerSecond.toFixed(1), String(m.retransmits), human(m.nodeABytes)]));
    const x = ratio(dsr, snat);
    o.say(`   DSR moved ${x}x what SNAT did: with SNAT every reply byte crosses node-a's capped link; with DSR only the client's`
      + ' requests and ACKs do.');
    o.say('\nTearing the lab down.');
    lab.down();
    return { snat, dsr, dsrOverSnat: x };
  } catch (e) {
    lab.down({ keepLogs: true });
    throw e;
  }
}
