/**
 * Everything the reconciler reads and writes, as one narrow interface (the
 * way Cilium's LBMaps is one), so the reconcile logic runs against the real
 * pinned maps (bpf-maps.ts), an in-memory model of them (memory-maps.ts) or
 * either one failing on purpose (failing-maps.ts). Nothing in src/reconcile
 * outside maps/ talks to src/bpf's maps directly.
 *
 * Semantics are the kernel's: an array has every index up to max_entries
 * (reading a free one gives a zero value; deleting is refused), a hash refuses
 * a new key once full, a batch write that fails leaves the entries before the
 * failing one written. Failures throw BpfError (code ERR_BPF_<errno>).
 */
import type { DsrlbConfig } from '../../bpf/codecs/node.js';
import type { Lb4Backend, Lb4BackendAddr, Lb4Frontend, Lb4Key, Lb4LocalBackendKey, Lb4Revnat, Lb4Service } from '../../bpf/codecs/services.js';
import type { Lb4SourceRangeKey } from '../../bpf/codecs/source-ranges.js';
import type { TableBuffer } from '../table-buffer.js';

export interface LbMap<K, V> {
  readonly name: string;
  readonly maxEntries: number;
  lookup(key: K): V | undefined;
  update(key: K, value: V): void;
  /** True when the key existed. */
  delete(key: K): boolean;
  /** One syscall where the kernel can; in order. */
  updateBatch(entries: readonly (readonly [K, V])[]): void;
  /** Missing keys are not an error; returns how many were deleted. */
  deleteBatch(keys: readonly K[]): number;
  /** Every entry (of an array: every index). */
  entries(): [K, V][];
  keys(): K[];
}

/** An array of slots that are live or free, each keeping a generation (lb4_backends, lb4_frontends). */
export interface SlotScan<V> {
  /** Live slots by index, decoded (free ones are not: a whole array is 131,072 slots). */
  readonly live: [number, V][];
  /** The newest generation any slot holds or held. */
  readonly newestGeneration: number;
}

export interface SlotMap<V> extends LbMap<number, V> {
  scan(): SlotScan<V>;
}

/** An inner table, open (an fd for the real maps): closed by whoever opened or created it. */
export type InnerTable = number;

/** lb4_maglev and its inner tables. */
export interface MaglevMaps {
  readonly name: string;
  /** Slots of lb4_maglev (and lb4_maglev_prev): service ids are below it. */
  readonly maxEntries: number;
  /** Service ids that have a table. */
  keys(): number[];
  /** The kernel id of `serviceId`'s inner table. */
  lookup(serviceId: number): number | undefined;
  /** A new inner table of `capacity` elements holding `table`. */
  create(serviceId: number, table: TableBuffer, capacity: number): InnerTable;
  /** Opens the inner table with kernel id `innerId`. */
  open(serviceId: number, innerId: number): InnerTable;
  /** Elements the inner table has (its max_entries); refused when it is not a Maglev table. */
  capacity(serviceId: number, t: InnerTable): number;
  /** The first `size` slots of an inner table. */
  read(serviceId: number, t: InnerTable, size: number): TableBuffer;
  /** Writes these elements of `table` into an inner table, in place. */
  write(serviceId: number, t: InnerTable, table: TableBuffer, elements: readonly number[]): void;
  close(t: InnerTable): void;
  /** Puts inner tables in (one outer batch update, one RCU grace period); the caller still closes them. */
  swap(entries: readonly (readonly [serviceId: number, t: InnerTable])[]): void;
  /** Takes these tables out; missing ones are not an error. */
  delete(serviceIds: readonly number[]): void;
  /** lb4_maglev_prev with lb4_maglev_prev_size: service id -> the kernel id of its previous table, and its size. */
  prevEntries(): [serviceId: number, prev: { innerId: number; size: number }][];
  /**
   * Makes these inner tables the services' previous ones: their size entries
   * go first, the tables go in (one outer batch), then the sizes, so the
   * datapath never pairs a size with another table. The caller still closes them.
   */
  putPrev(entries: readonly (readonly [serviceId: number, t: InnerTable, size: number])[]): void;
  /** Takes these services' previous tables (and sizes) out; missing ones are not an error. */
  deletePrev(serviceIds: readonly number[]): void;
}

export interface LbMaps {
  readonly services: LbMap<Lb4Key, Lb4Service>;
  readonly frontends: SlotMap<Lb4Frontend>;
  readonly backends: SlotMap<Lb4Backend>;
  readonly localBackends: LbMap<Lb4LocalBackendKey, number>;
  readonly backendFrontends: LbMap<Lb4BackendAddr, Lb4Revnat>;
  /** An array read as a hash: an entry with port 0 is a free id (lookup undefined, not in entries()). */
  readonly revnat: LbMap<number, Lb4Revnat>;
  readonly sourceRanges: LbMap<Lb4SourceRangeKey, number>;
  readonly nodes: LbMap<number, { address: string }>;
  readonly nodeAddrs: LbMap<string, number>;
  readonly portFilter: LbMap<number, bigint>;
  readonly maglev: MaglevMaps;
  /** Only for config.local_epoch (local-epoch.ts). */
  readonly config: LbMap<number, DsrlbConfig>;
  close(): void;
}
