/**
 * Keeps lb4_port_filter (bpf/lib/maps.h) equal to the ports frontends use.
 * A set bit lets xdp_lb pass a packet without a service lookup, so the order
 * matters: a port's bit is cleared before its first frontend is written and
 * set only after its last frontend is gone. Counting frontends per
 * {protocol, port} makes each change cost only the words it touches.
 */
import { MapSpecs, openPinned } from '../bpf/map-specs.js';
import type { BpfMap } from '../bpf/map.js';
import { portFilterBit, portFilterWords } from '../bpf/port-filter.js';
import type { Frontend, Protocol } from '../plan/types.js';
import { PROTOCOL_NUMBERS } from './desired.js';

const FILTERED = new Set<number>([PROTOCOL_NUMBERS.TCP, PROTOCOL_NUMBERS.UDP]);

interface PortRef { proto: number; port: number }

/** {proto, port} of a frontendKey ("address|port|protocol"). */
function refOfKey(key: string): PortRef {
  const [, port, protocol] = key.split('|');
  return { proto: PROTOCOL_NUMBERS[protocol as Protocol] ?? 0, port: Number(port) };
}

export class PortFilterWriter {
  private readonly map: BpfMap<number, bigint>;
  private readonly counts = new Map<number, number>();

  constructor(bpffsRoot: string) {
    this.map = openPinned(bpffsRoot, MapSpecs.portFilter);
  }

  private static id(r: PortRef): number {
    return r.proto * 65536 + r.port;
  }

  /** Before a full sync: clears the bits of every port `frontends` use, keeping bits already clear. */
  beforeFull(frontends: readonly Frontend[]): void {
    const refs = frontends.map((f) => ({ proto: PROTOCOL_NUMBERS[f.protocol], port: f.port }));
    const wanted = portFilterWords(refs);
    const entries: [number, bigint][] = [];
    for (const [word, current] of this.map.entries()) {
      const next = current & (wanted[word] ?? 0n);
      if (next !== current) entries.push([word, next]);
    }
    this.map.updateBatch(entries);
    this.counts.clear();
    for (const r of refs) if (FILTERED.has(r.proto)) this.counts.set(PortFilterWriter.id(r), (this.counts.get(PortFilterWriter.id(r)) ?? 0) + 1);
  }

  /** After a full sync: exactly the filter of what was planned. */
  afterFull(): void {
    const refs = [...this.counts.keys()].map((id) => ({ proto: Math.floor(id / 65536), port: id % 65536 }));
    const wanted = portFilterWords(refs);
    this.map.updateBatch(wanted.map((w, i) => [i, w] as [number, bigint]).filter(([i, w]) => this.map.lookup(i) !== w));
  }

  /** Before an incremental sync: ports gaining their first frontend stop being filtered. */
  beforeAdded(keys: readonly string[]): void {
    for (const key of keys) {
      const r = refOfKey(key);
      if (!FILTERED.has(r.proto)) continue;
      const id = PortFilterWriter.id(r);
      const n = this.counts.get(id) ?? 0;
      this.counts.set(id, n + 1);
      if (n === 0) this.setBit(r, false);
    }
  }

  /** After an incremental sync: ports that lost their last frontend are filtered again. */
  afterRemoved(keys: readonly string[]): void {
    for (const key of keys) {
      const r = refOfKey(key);
      if (!FILTERED.has(r.proto)) continue;
      const id = PortFilterWriter.id(r);
      const n = (this.counts.get(id) ?? 1) - 1;
      if (n > 0) {
        this.counts.set(id, n);
        continue;
      }
      this.counts.delete(id);
      this.setBit(r, true);
    }
  }

  private setBit(r: PortRef, filtered: boolean): void {
    const { word, bit } = portFilterBit(r.proto, r.port);
    const current = this.map.lookup(word) ?? 0n;
    const mask = 1n << BigInt(bit);
    const next = filtered ? current | mask : current & ~mask;
    if (next !== current) this.map.update(word, next);
  }

  close(): void {
    this.map.close();
  }
}
