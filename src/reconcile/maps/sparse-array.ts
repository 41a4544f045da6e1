/**
 * An array whose free ids hold a zero entry (lb4_revnat: port 0), read and
 * written as a hash would be: a free id looks up as missing, a delete writes
 * the zero entry, and only live entries are listed. Over either map
 * implementation (bpf-maps.ts, memory-maps.ts).
 */
import type { LbMap } from './lb-maps.js';

export class SparseArray<V> implements LbMap<number, V> {
  /**
   * @param written every entry that may be live (the whole array for the
   *   kernel's; the ones ever written for the in-memory model)
   */
  constructor(private readonly array: LbMap<number, V>, private readonly isLive: (v: V) => boolean, private readonly free: V,
    private readonly written: () => [number, V][] = () => array.entries()) {}

  get name(): string { return this.array.name; }
  get maxEntries(): number { return this.array.maxEntries; }

  lookup(key: number): V | undefined {
    const v = this.array.lookup(key);
    return v !== undefined && this.isLive(v) ? v : undefined;
  }
  update(key: number, value: V): void { this.array.update(key, value); }
  updateBatch(entries: readonly (readonly [number, V])[]): void { this.array.updateBatch(entries); }
  delete(key: number): boolean { return this.deleteBatch([key]) === 1; }
  deleteBatch(keys: readonly number[]): number {
    const live = keys.filter((k) => this.lookup(k) !== undefined);
    this.array.updateBatch(live.map((k) => [k, this.free]));
    return live.length;
  }
  entries(): [number, V][] { return this.written().filter(([, v]) => this.isLive(v)).sort((a, b) => a[0] - b[0]); }
  keys(): number[] { return this.entries().map(([k]) => k); }
}
