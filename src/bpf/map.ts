/**
 * BpfMap: a kernel map seen through typed key/value codecs. Per-CPU maps
 * return one value per possible CPU.
 */
import { readFileSync } from 'node:fs';
import type { Codec } from './codec.js';
import { call } from './errors.js';
import { native, type NativeBatch } from './native.js';
import { isPerCpu, MapTypeName, supportsBatch, supportsLookupBatch, UpdateFlags } from './map-types.js';

export interface MapInfo {
  readonly id: number;
  readonly name: string;
  readonly type: number;
  readonly typeName: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** Kernel-accounted memory in bytes (fdinfo memlock). */
  readonly memoryBytes: number;
}

const BATCH_CHUNK = 4096;

/** The kernel's memory figure for the map behind `fd` (fdinfo `memlock`, what `bpftool map` shows), in bytes. */
export function mapMemlock(fd: number): number {
  const m = /^memlock:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function cpuCount(): number { return native().numPossibleCpus(); }

/** Whether `size` bytes at values[vo] hold anything but zeros. */
export function nonZeroBytes(values: Buffer, vo: number, size: number): boolean {
  for (let i = vo; i < vo + size; i++) if (values[i] !== 0) return true;
  return false;
}

/** Per-CPU slots are rounded up to 8 bytes each by the kernel. */
export function perCpuStride(valueSize: number): number { return Math.ceil(valueSize / 8) * 8; }

export class BpfMap<K, V> {
  readonly fd: number;
  readonly name: string;
  readonly type: number;
  readonly perCpu: boolean;
  private readonly owned: boolean;
  private readonly rawValueSize: number;
  private closed = false;

  /**
   * @param owned whether close() closes the fd (false for maps of a loaded
   *   object, whose fds libbpf owns).
   */
  constructor(fd: number, readonly key: Codec<K>, readonly value: Codec<V>, owned: boolean, name?: string) {
    const info = call(name ?? `map fd ${fd}`, () => native().mapInfo(fd));
    this.fd = fd;
    this.name = name ?? info.name;
    this.type = info.type;
    this.perCpu = isPerCpu(info.type);
    this.owned = owned;
    if (info.keySize !== key.size || info.valueSize !== value.size) {
      throw new TypeError(`${this.name}: codec sizes ${key.size}/${value.size} do not match the map's ${info.keySize}/${info.valueSize}`);
    }
    this.rawValueSize = this.perCpu ? perCpuStride(value.size) * cpuCount() : value.size;
  }

  info(): MapInfo {
    const i = call(this.name, () => native().mapInfo(this.fd));
    return { ...i, typeName: MapTypeName[i.type] ?? String(i.type), memoryBytes: this.memoryBytes() };
  }

  private memoryBytes(): number {
    return mapMemlock(this.fd);
  }

  lookup(key: K): V | undefined {
    const raw = this.lookupRaw(key);
    return raw ? this.value.decode(raw) : undefined;
  }

  /** Per-CPU maps: one value per possible CPU. */
  lookupPerCpu(key: K): V[] | undefined {
    const raw = this.lookupRaw(key);
    return raw ? this.splitPerCpu(raw, 0) : undefined;
  }

  private lookupRaw(key: K): Buffer | null {
    const k = this.key.encode(key);
    return call(this.name, () => native().mapLookup(this.fd, k, this.rawValueSize));
  }

  private splitPerCpu(raw: Buffer, base: number): V[] {
    const stride = perCpuStride(this.value.size);
    const out: V[] = [];
    for (let off = 0; off < this.rawValueSize; off += stride) out.push(this.value.decode(raw, base + off));
    return out;
  }

  private encodeValue(value: V): Buffer {
    if (!this.perCpu) return this.value.encode(value);
    // Writing a per-CPU map sets every CPU's slot to the same value.
    const stride = perCpuStride(this.value.size);
    const buf = Buffer.alloc(this.rawValueSize);
    const one = this.value.encode(value);
    for (let off = 0; off < this.rawValueSize; off += stride) one.copy(buf, off);
    return buf;
  }

  update(key: K, value: V, flags: number = UpdateFlags.ANY): void {
    const k = this.key.encode(key);
    const v = this.encodeValue(value);
    call(this.name, () => native().mapUpdate(this.fd, k, v, flags));
  }

  /** For maps of maps: the value is the inner map's fd. */
  updateRaw(key: K, value: Buffer, flags: number = UpdateFlags.ANY): void {
    const k = this.key.encode(key);
    call(this.name, () => native().mapUpdate(this.fd, k, value, flags));
  }

  /** The raw value bytes (maps of maps hold an inner map id). */
  lookupRawValue(key: K): Buffer | undefined {
    return this.lookupRaw(key) ?? undefined;
  }

  /** True when the key existed. */
  delete(key: K): boolean {
    const k = this.key.encode(key);
    return call(this.name, () => native().mapDelete(this.fd, k));
  }

  *keys(): IterableIterator<K> {
    let cur: Buffer | null = null;
    for (;;) {
      const prev: Buffer | null = cur;
      const next: Buffer | null = call(this.name, () => native().mapNextKey(this.fd, prev, this.key.size));
      if (!next) return;
      yield this.key.decode(next);
      cur = next;
    }
  }

  /** How many entries: batched where the kernel supports it (a few system calls), else key by key. */
  count(): number {
    let n = 0;
    if (supportsLookupBatch(this.type)) this.scanRaw(() => { n++; });
    else for (const _ of this.keys()) n++;
    return n;
  }

  /** Entries whose value is not all zero bytes (of an array: the slots in use). */
  countNonZero(): number {
    let n = 0;
    this.scanRaw((_keys, _ko, values, vo) => { if (nonZeroBytes(values, vo, this.rawValueSize)) n++; });
    return n;
  }

  /** All entries; batched where the kernel supports it, else key by key. */
  entries(): [K, V][] {
    if (this.perCpu) throw new TypeError(`${this.name} is per-CPU: use entriesPerCpu()`);
    return this.rawEntries().map(([k, v]) => [this.key.decode(k), this.value.decode(v)]);
  }

  entriesPerCpu(): [K, V[]][] {
    return this.rawEntries().map(([k, v]) => [this.key.decode(k), this.splitPerCpu(v, 0)]);
  }

  private rawEntries(): [Buffer, Buffer][] {
    const out: [Buffer, Buffer][] = [];
    this.scanRaw((keys, ko, values, vo) => {
      out.push([keys.subarray(ko, ko + this.key.size), values.subarray(vo, vo + this.rawValueSize)]);
    });
    return out;
  }

  /**
   * Calls `fn` with every entry's bytes where they lie (the key at
   * keys[ko], the value at values[vo]), allocating nothing per entry: for
   * scans of large maps that keep few entries (and must not leave a
   * garbage object per entry behind).
   */
  scanRaw(fn: (keys: Buffer, ko: number, values: Buffer, vo: number) => void): void {
    if (supportsLookupBatch(this.type)) {
      let token: Buffer | null = null;
      for (;;) {
        const t: Buffer | null = token;
        const b: NativeBatch = call(this.name, () => native().mapLookupBatch(this.fd, t, this.key.size, this.rawValueSize, BATCH_CHUNK));
        for (let i = 0; i < b.count; i++) fn(b.keys, i * this.key.size, b.values, i * this.rawValueSize);
        if (b.done) return;
        token = b.token;
      }
    }
    for (const k of this.keys()) {
      const kb = this.key.encode(k);
      const v = call(this.name, () => native().mapLookup(this.fd, kb, this.rawValueSize));
      if (v) fn(kb, 0, v, 0);
    }
  }

  /** Writes many entries in one syscall where supported. */
  updateBatch(entries: readonly (readonly [K, V])[], flags: number = UpdateFlags.ANY): void {
    if (entries.length === 0) return;
    if (!supportsBatch(this.type)) {
      for (const [k, v] of entries) this.update(k, v, flags);
      return;
    }
    const keys = Buffer.concat(entries.map(([k]) => this.key.encode(k)));
    const values = Buffer.concat(entries.map(([, v]) => this.encodeValue(v)));
    call(this.name, () => native().mapUpdateBatch(this.fd, keys, values, entries.length, flags));
  }

  /** Deletes many keys; returns how many were deleted. Missing keys are not an error. */
  deleteBatch(keys: readonly K[]): number {
    if (keys.length === 0) return 0;
    if (!supportsBatch(this.type) || keys.length === 1) return keys.filter((k) => this.delete(k)).length;
    // The kernel stops a batch at the first missing key, so fall back per key then.
    const buf = Buffer.concat(keys.map((k) => this.key.encode(k)));
    const n = call(this.name, () => native().mapDeleteBatch(this.fd, buf, keys.length));
    return n === keys.length ? n : n + keys.slice(n + 1).filter((k) => this.delete(k)).length;
  }

  pin(path: string): void {
    call(path, () => native().objPin(this.fd, path));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) call(this.name, () => native().closeFd(this.fd));
  }
}
