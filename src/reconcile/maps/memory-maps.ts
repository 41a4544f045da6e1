/**
 * LbMaps in memory, with the kernel's semantics where the reconciler can
 * tell: arrays have every index below max_entries (a free index reads as a
 * zero value, an index past the end is E2BIG, deleting is EINVAL), a full hash
 * refuses a new key with E2BIG, a batch stops at the entry that fails,
 * lb4_maglev holds inner tables by id and an inner table lives while lb4_maglev
 * or an open handle refers to it. Values are copied in and out, as bytes would be.
 * For tests of the reconcile logic without root.
 */
import {
  DSRLB_MAGLEV_SLOTS_PER_ENTRY, DSRLB_MAX_BACKENDS, DSRLB_MAX_LOCAL_BACKENDS, DSRLB_MAX_NODES, DSRLB_MAX_REVNAT, DSRLB_MAX_SERVICES, DSRLB_MAX_SOURCE_RANGES, DSRLB_PORT_FILTER_WORDS,
} from '../../bpf/consts.generated.js';
import { isLiveBackend } from '../../bpf/backend-slots.js';
import { dsrlbConfig, type DsrlbConfig } from '../../bpf/codecs/node.js';
import {
  FREE_REVNAT, isLiveRevnat, type Lb4Backend, type Lb4BackendAddr, type Lb4Frontend, type Lb4Key, type Lb4LocalBackendKey, type Lb4Revnat, type Lb4Service,
} from '../../bpf/codecs/services.js';
import type { Lb4SourceRangeKey } from '../../bpf/codecs/source-ranges.js';
import { DsrlbError } from '../../errors.js';
import { frontendKeyOf, sourceRangeKey } from '../../model/keys.js';
import { TableBuffer } from '../table-buffer.js';
import { mapError } from './errno.js';
import type { InnerTable, LbMap, LbMaps, MaglevMaps, SlotMap, SlotScan } from './lb-maps.js';
import { SparseArray } from './sparse-array.js';

function copy<V>(v: V): V {
  return typeof v === 'object' && v !== null ? { ...v } : v;
}

/** A BPF_MAP_TYPE_HASH (or LPM trie, looked up by exact key). */
export class MemoryHash<K, V> implements LbMap<K, V> {
  private readonly data = new Map<string, [K, V]>();

  constructor(readonly name: string, readonly maxEntries: number, private readonly id: (k: K) => string) {}

  lookup(key: K): V | undefined {
    const e = this.data.get(this.id(key));
    return e ? copy(e[1]) : undefined;
  }

  update(key: K, value: V): void {
    const k = this.id(key);
    if (!this.data.has(k) && this.data.size >= this.maxEntries) throw mapError('E2BIG', 'bpf_map_update_elem', this.name, 'the map is full');
    this.data.set(k, [copy(key), copy(value)]);
  }

  delete(key: K): boolean { return this.data.delete(this.id(key)); }

  updateBatch(entries: readonly (readonly [K, V])[]): void {
    for (const [k, v] of entries) this.update(k, v);
  }

  deleteBatch(keys: readonly K[]): number { return keys.filter((k) => this.delete(k)).length; }

  entries(): [K, V][] { return [...this.data.values()].map(([k, v]) => [copy(k), copy(v)]); }

  keys(): K[] { return [...this.data.values()].map(([k]) => copy(k)); }

  get size(): number { return this.data.size; }
}

/** A BPF_MAP_TYPE_ARRAY: every index below maxEntries exists. */
export class MemoryArray<V> implements LbMap<number, V> {
  private readonly data = new Map<number, V>();

  constructor(readonly name: string, readonly maxEntries: number, private readonly zero: V) {}

  private check(index: number, op: string): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) throw mapError('E2BIG', op, this.name, `index ${index} is past the array's end`);
  }

  lookup(index: number): V | undefined {
    if (!Number.isInteger(index) || index < 0 || index >= this.maxEntries) return undefined;
    return copy(this.data.get(index) ?? this.zero);
  }

  update(index: number, value: V): void {
    this.check(index, 'bpf_map_update_elem');
    this.data.set(index, copy(value));
  }

  delete(index: number): boolean {
    throw mapError('EINVAL', 'bpf_map_delete_elem', this.name, `array elements cannot be deleted (index ${index})`);
  }

  updateBatch(entries: readonly (readonly [number, V])[]): void {
    for (const [k, v] of entries) this.update(k, v);
  }

  deleteBatch(keys: readonly number[]): number {
    for (const k of keys) this.delete(k);
    return 0;
  }

  entries(): [number, V][] {
    return Array.from({ length: this.maxEntries }, (_, i) => [i, copy(this.data.get(i) ?? this.zero)] as [number, V]);
  }

  keys(): number[] { return Array.from({ length: this.maxEntries }, (_, i) => i); }

  /** Indexes written with something other than the zero value (for tests; a real array cannot say). */
  written(): [number, V][] { return [...this.data].map(([i, v]) => [i, copy(v)]); }
}

/** An array of slots with generations (lb4_backends, lb4_frontends). */
export class MemorySlots<V extends { generation: number }> extends MemoryArray<V> implements SlotMap<V> {
  constructor(name: string, maxEntries: number, zero: V, private readonly isLive: (v: V) => boolean) {
    super(name, maxEntries, zero);
  }

  scan(): SlotScan<V> {
    const live: [number, V][] = [];
    let newestGeneration = 0;
    for (const [i, v] of this.written()) {
      if (v.generation > newestGeneration) newestGeneration = v.generation;
      if (this.isLive(v)) live.push([i, v]);
    }
    live.sort((a, b) => a[0] - b[0]);
    return { live, newestGeneration };
  }
}

interface Inner { readonly id: number; readonly capacity: number; readonly slots: Uint32Array; refs: number; maglev: boolean }

/** lb4_maglev (an array of maps) and its inner arrays; a slot taken out holds nothing (the kernel's: lb4_maglev_none). */
export class MemoryMaglev implements MaglevMaps {
  readonly name = 'lb4_maglev';
  private readonly outer = new Map<number, number>();
  /** lb4_maglev_prev (inner ids) and lb4_maglev_prev_size, sharing the inner tables. */
  private readonly prevOuter = new Map<number, number>();
  private readonly prevSize = new Map<number, number>();
  private readonly inners = new Map<number, Inner>();
  private readonly handles = new Map<InnerTable, number>();
  private nextId = 1;
  private nextHandle = 1000;

  /** @param maxCreated new tables that may be open at once (past it: EMFILE, like a process out of fds) */
  constructor(readonly maxEntries = DSRLB_MAX_SERVICES, private readonly maxCreated = Infinity) {}

  private newHandle(inner: Inner): InnerTable {
    const h = this.nextHandle++;
    this.handles.set(h, inner.id);
    inner.refs++;
    return h;
  }

  private inner(serviceId: number, t: InnerTable): Inner {
    const id = this.handles.get(t);
    const inner = id === undefined ? undefined : this.inners.get(id);
    if (!inner) throw mapError('EINVAL', 'bpf', `lb4_maglev[${serviceId}]`, `handle ${t} is not open`);
    return inner;
  }

  /** lb4_maglev and lb4_maglev_prev are arrays of maps indexed by service id. */
  private inRange(sid: number): boolean { return Number.isInteger(sid) && sid >= 0 && sid < this.maxEntries; }

  private unref(inner: Inner): void {
    if (--inner.refs === 0) this.inners.delete(inner.id);
  }

  keys(): number[] { return [...this.outer.keys()]; }

  lookup(serviceId: number): number | undefined { return this.outer.get(serviceId); }

  create(serviceId: number, table: TableBuffer, capacity: number): InnerTable {
    const created = [...this.handles.values()].filter((id) => (this.inners.get(id)?.refs ?? 0) === 1 && !this.inOuter(id)).length;
    if (created >= this.maxCreated) throw mapError('EMFILE', 'bpf_map_create', `lb4_maglev[${serviceId}]`, 'too many open files');
    const inner = this.newInner(Math.max(capacity, table.elements), true);
    const h = this.newHandle(inner);
    inner.refs--; // the handle is the only reference
    for (let e = 0; e < table.elements; e++) inner.slots.set(table.element(e), e * DSRLB_MAGLEV_SLOTS_PER_ENTRY);
    return h;
  }

  private newInner(capacity: number, maglev: boolean): Inner {
    const inner: Inner = { id: this.nextId++, capacity, slots: new Uint32Array(capacity * DSRLB_MAGLEV_SLOTS_PER_ENTRY), refs: 1, maglev };
    this.inners.set(inner.id, inner);
    return inner;
  }

  open(serviceId: number, innerId: number): InnerTable {
    const inner = this.inners.get(innerId);
    if (!inner) throw mapError('ENOENT', 'bpf_map_get_fd_by_id', `lb4_maglev[${serviceId}]`, `no map with id ${innerId}`);
    return this.newHandle(inner);
  }

  private inOuter(innerId: number): boolean {
    for (const id of this.outer.values()) if (id === innerId) return true;
    for (const id of this.prevOuter.values()) if (id === innerId) return true;
    return false;
  }

  capacity(serviceId: number, t: InnerTable): number {
    const inner = this.inner(serviceId, t);
    if (!inner.maglev) {
      throw new DsrlbError('ERR_MAGLEV_INNER', 'inner table is not a Maglev array', {
        subject: `lb4_maglev[${serviceId}]`, remedy: 'run dsrlb-agent cleanup and restart the agent',
      });
    }
    return inner.capacity;
  }

  read(serviceId: number, t: InnerTable, size: number): TableBuffer {
    const inner = this.inner(serviceId, t);
    const table = new TableBuffer(size);
    for (let e = 0; e < Math.min(table.elements, inner.capacity); e++) {
      table.element(e).set(inner.slots.subarray(e * DSRLB_MAGLEV_SLOTS_PER_ENTRY, (e + 1) * DSRLB_MAGLEV_SLOTS_PER_ENTRY));
    }
    return table;
  }

  write(serviceId: number, t: InnerTable, table: TableBuffer, elements: readonly number[]): void {
    const inner = this.inner(serviceId, t);
    for (const e of elements) {
      if (e >= inner.capacity) throw mapError('E2BIG', 'bpf_map_update_batch', `lb4_maglev[${serviceId}]`, `element ${e} is past the table's end`);
      inner.slots.set(table.element(e), e * DSRLB_MAGLEV_SLOTS_PER_ENTRY);
    }
  }

  close(t: InnerTable): void {
    const id = this.handles.get(t);
    if (id === undefined) return;
    this.handles.delete(t);
    const inner = this.inners.get(id);
    if (inner) this.unref(inner);
  }

  swap(entries: readonly (readonly [number, InnerTable])[]): void {
    for (const [sid, t] of entries) {
      const inner = this.inner(sid, t);
      if (!this.inRange(sid)) throw mapError('E2BIG', 'bpf_map_update_batch', this.name, `index ${sid} is past the array's end`);
      const old = this.outer.get(sid);
      inner.refs++;
      this.outer.set(sid, inner.id);
      const was = old === undefined ? undefined : this.inners.get(old);
      if (was) this.unref(was);
    }
  }

  delete(serviceIds: readonly number[]): void {
    for (const sid of serviceIds) this.drop(this.outer, sid);
  }

  private drop(outer: Map<number, number>, sid: number): void {
    const id = outer.get(sid);
    if (id === undefined) return;
    outer.delete(sid);
    const inner = this.inners.get(id);
    if (inner) this.unref(inner);
  }

  prevEntries(): [number, { innerId: number; size: number }][] {
    return [...this.prevOuter].map(([sid, innerId]) => [sid, { innerId, size: this.prevSize.get(sid) ?? 0 }]);
  }

  putPrev(entries: readonly (readonly [number, InnerTable, number])[]): void {
    for (const [sid] of entries) this.prevSize.delete(sid);
    for (const [sid, t] of entries) {
      const inner = this.inner(sid, t);
      if (!this.inRange(sid)) throw mapError('E2BIG', 'bpf_map_update_batch', 'lb4_maglev_prev', `index ${sid} is past the array's end`);
      inner.refs++;
      this.drop(this.prevOuter, sid);
      this.prevOuter.set(sid, inner.id);
    }
    for (const [sid, , size] of entries) this.prevSize.set(sid, size);
  }

  deletePrev(serviceIds: readonly number[]): void {
    for (const sid of serviceIds) {
      this.prevSize.delete(sid);
      this.drop(this.prevOuter, sid);
    }
  }

  // ---- for tests -----------------------------------------------------------------

  /** The slots of `serviceId`'s table (its whole inner map), or undefined. */
  slots(serviceId: number): Uint32Array | undefined {
    const id = this.outer.get(serviceId);
    return id === undefined ? undefined : this.inners.get(id)?.slots.slice();
  }

  /** The slots of `serviceId`'s previous table and its size, or undefined. */
  prevSlots(serviceId: number): { slots: Uint32Array; size: number } | undefined {
    const id = this.prevOuter.get(serviceId);
    const inner = id === undefined ? undefined : this.inners.get(id);
    const size = this.prevSize.get(serviceId);
    return inner && size !== undefined ? { slots: inner.slots.slice(), size } : undefined;
  }

  /** Puts an inner table of `capacity` elements with these slots in, as an earlier run (or a person) might have. */
  put(serviceId: number, capacity: number, slots: ArrayLike<number>, maglev = true): void {
    const inner = this.newInner(capacity, maglev);
    inner.slots.set(Array.from(slots).slice(0, inner.slots.length));
    const old = this.outer.get(serviceId);
    this.outer.set(serviceId, inner.id);
    const was = old === undefined ? undefined : this.inners.get(old);
    if (was) this.unref(was);
  }

  /** Overwrites one slot of `serviceId`'s table in place. */
  poke(serviceId: number, slot: number, backendId: number): void {
    const id = this.outer.get(serviceId);
    const inner = id === undefined ? undefined : this.inners.get(id);
    if (inner && slot < inner.slots.length) inner.slots[slot] = backendId;
  }

  /** Open handles (a test checks none leak). */
  get openHandles(): number { return this.handles.size; }

  /** Inner tables alive. */
  get tables(): number { return this.inners.size; }
}

const lbKeyId = (k: Lb4Key): string => frontendKeyOf(k);
const rangeId = (k: Lb4SourceRangeKey): string => sourceRangeKey(k.serviceId, k.address, k.prefixlen);

export interface MemoryMapsOptions {
  /** lb4_backends' size (default the datapath's). */
  readonly maxBackends?: number;
  readonly maxServices?: number;
  /** New inner tables open at once, not yet in lb4_maglev (EMFILE past it). */
  readonly maxOpenTables?: number;
}

/** Every map the reconciler writes, in memory. */
export class MemoryMaps implements LbMaps {
  readonly services: MemoryHash<Lb4Key, Lb4Service>;
  readonly frontends = new MemorySlots<Lb4Frontend>('lb4_frontends', DSRLB_MAX_REVNAT, { serviceId: 0, generation: 0, flags: 0 }, (f) => f.serviceId !== 0);
  readonly backends: MemorySlots<Lb4Backend>;
  readonly localBackends = new MemoryHash<Lb4LocalBackendKey, number>('lb4_local_backends', DSRLB_MAX_LOCAL_BACKENDS,
    (k) => `${frontendKeyOf(k)}|${k.serviceId}`);
  readonly backendFrontends = new MemoryHash<Lb4BackendAddr, Lb4Revnat>('lb4_backend_frontends', DSRLB_MAX_LOCAL_BACKENDS, frontendKeyOf);
  readonly revnat: LbMap<number, Lb4Revnat>;
  readonly sourceRanges = new MemoryHash<Lb4SourceRangeKey, number>('lb4_source_ranges', DSRLB_MAX_SOURCE_RANGES, rangeId);
  readonly nodes = new MemoryHash<number, { address: string }>('nodes', DSRLB_MAX_NODES, String);
  readonly nodeAddrs = new MemoryHash<string, number>('node_addrs', DSRLB_MAX_NODES, String);
  readonly portFilter = new MemoryArray<bigint>('lb4_port_filter', DSRLB_PORT_FILTER_WORDS, 0n);
  readonly maglev: MemoryMaglev;
  readonly config = new MemoryArray<DsrlbConfig>('config', 1, dsrlbConfig.decode(Buffer.alloc(dsrlbConfig.size)));
  closed = false;

  constructor(opts: MemoryMapsOptions = {}) {
    const maxServices = opts.maxServices ?? DSRLB_MAX_SERVICES;
    this.services = new MemoryHash<Lb4Key, Lb4Service>('lb4_services', maxServices, lbKeyId);
    this.backends = new MemorySlots<Lb4Backend>('lb4_backends', opts.maxBackends ?? DSRLB_MAX_BACKENDS,
      { address: '0.0.0.0', port: 0, proto: 0, flags: 0, nodeId: 0, generation: 0 }, isLiveBackend);
    this.maglev = new MemoryMaglev(maxServices, opts.maxOpenTables);
    const revnat = new MemoryArray<Lb4Revnat>('lb4_revnat', DSRLB_MAX_REVNAT, FREE_REVNAT);
    this.revnat = new SparseArray(revnat, isLiveRevnat, FREE_REVNAT, () => revnat.written());
  }

  close(): void { this.closed = true; }
}
