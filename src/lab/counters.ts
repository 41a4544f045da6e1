/**
 * What the lab measures without capturing packets: interface counters and
 * the TCP/UDP counters of a namespace's stack (each namespace has its own).
 */
import { nsRun, run } from './sh.js';

export interface LinkCounters {
  readonly rxBytes: number;
  readonly txBytes: number;
  readonly rxPackets: number;
  readonly txPackets: number;
}

interface IpLinkStats { stats64?: { rx?: { bytes?: number; packets?: number }; tx?: { bytes?: number; packets?: number } } }

/** `ip -s -j link` of one device in a namespace. XDP_TX'd frames count as the device's tx. */
export function linkCounters(ns: string, dev: string): LinkCounters {
  const [link] = JSON.parse(run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev])) as IpLinkStats[];
  const s = link?.stats64;
  return { rxBytes: s?.rx?.bytes ?? 0, txBytes: s?.tx?.bytes ?? 0, rxPackets: s?.rx?.packets ?? 0, txPackets: s?.tx?.packets ?? 0 };
}

export function counterDelta(before: LinkCounters, after: LinkCounters): LinkCounters {
  return {
    rxBytes: after.rxBytes - before.rxBytes, txBytes: after.txBytes - before.txBytes,
    rxPackets: after.rxPackets - before.rxPackets, txPackets: after.txPackets - before.txPackets,
  };
}

/** /proc/net/snmp as seen from inside `ns`: "Tcp.RetransSegs" -> value. */
export function snmpCounters(ns: string): Record<string, number> {
  const lines = nsRun(ns, 'cat', ['/proc/net/snmp']).trim().split('\n');
  const out: Record<string, number> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const names = (lines[i] ?? '').split(/\s+/);
    const values = (lines[i + 1] ?? '').split(/\s+/);
    const proto = (names[0] ?? '').replace(/:$/, '');
    for (let k = 1; k < names.length; k++) out[`${proto}.${names[k]}`] = Number(values[k]);
  }
  return out;
}

/** Sum of TCP segments retransmitted by these namespaces' stacks. */
export function tcpRetransmits(namespaces: readonly string[]): number {
  return namespaces.reduce((sum, ns) => sum + (snmpCounters(ns)['Tcp.RetransSegs'] ?? 0), 0);
}

/** The path MTU the client's kernel has cached for `dst` (after an ICMP fragmentation-needed), if any. */
export function cachedPathMtu(ns: string, dst: string): number | undefined {
  const out = run('ip', ['-n', ns, 'route', 'get', dst]);
  const m = /\bmtu (\d+)/.exec(out);
  return m ? Number(m[1]) : undefined;
}

export function linkMtu(ns: string, dev: string): number {
  const [link] = JSON.parse(run('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev])) as { mtu?: number }[];
  return link?.mtu ?? 0;
}
