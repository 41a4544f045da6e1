/**
 * Keeps lb4_port_filter (bpf/lib/maps.h) equal to the ports frontends use:
 * one step at each end of the ordered apply (apply.ts). A set bit lets xdp_lb
 * pass a packet without a service lookup, so a port's bit is cleared before
 * its first frontend is written and set only after its last frontend is gone.
 * Counting frontends per {protocol, port} makes each change cost only the
 * words it touches; the words are kept as last read or written, and each end
 * writes the words that change in one batch.
 */
import { portFilterBit, portFilterWords } from '../bpf/port-filter.js';
import { isPortFiltered, type L4Address } from '../model/keys.js';
import type { LbMap } from './maps/lb-maps.js';

function refId(proto: number, port: number): number {
  return proto * 65536 + port;
}

export class PortFilter {
  private readonly words: bigint[];
  /** {proto, port} -> frontends using it. */
  private readonly counts = new Map<number, number>();

  /** Reads what the map holds. */
  constructor(private readonly map: LbMap<number, bigint>) {
    this.words = new Array<bigint>(map.maxEntries).fill(0n);
    for (const [i, w] of map.entries()) this.words[i] = w;
  }

  /** Before the maps gain these frontends: ports gaining their first frontend stop being filtered. Returns words written. */
  open(added: readonly L4Address[]): number {
    const next = new Map<number, bigint>();
    for (const f of added) {
      if (!isPortFiltered(f.proto)) continue;
      const id = refId(f.proto, f.port);
      const n = this.counts.get(id) ?? 0;
      this.counts.set(id, n + 1);
      if (n > 0) continue;
      const { word, bit } = portFilterBit(f.proto, f.port);
      next.set(word, (next.get(word) ?? (this.words[word] as bigint)) & ~(1n << BigInt(bit)));
    }
    return this.write(next);
  }

  /** After these frontends left the maps: ports that lost their last frontend are filtered again. Returns words written. */
  close(removed: readonly L4Address[]): number {
    const next = new Map<number, bigint>();
    for (const f of removed) {
      if (!isPortFiltered(f.proto)) continue;
      const id = refId(f.proto, f.port);
      const n = (this.counts.get(id) ?? 1) - 1;
      if (n > 0) {
        this.counts.set(id, n);
        continue;
      }
      this.counts.delete(id);
      const { word, bit } = portFilterBit(f.proto, f.port);
      next.set(word, (next.get(word) ?? (this.words[word] as bigint)) | (1n << BigInt(bit)));
    }
    return this.write(next);
  }

  /** After an adoption: exactly the filter of the ports counted (whatever an earlier run or a person left). */
  match(): number {
    const wanted = portFilterWords([...this.counts.keys()].map((id) => ({ proto: Math.floor(id / 65536), port: id % 65536 })));
    const next = new Map<number, bigint>();
    wanted.forEach((w, i) => next.set(i, w));
    return this.write(next);
  }

  private write(next: ReadonlyMap<number, bigint>): number {
    const writes: [number, bigint][] = [];
    for (const [i, w] of next) if (this.words[i] !== w) writes.push([i, w]);
    this.map.updateBatch(writes);
    for (const [i, w] of writes) this.words[i] = w;
    return writes.length;
  }
}
