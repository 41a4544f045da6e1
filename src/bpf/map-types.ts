/** Kernel map types and flags dsrlb uses (values from linux/bpf.h). */
export const MapType = {
  HASH: 1,
  ARRAY: 2,
  PROG_ARRAY: 3,
  PERCPU_HASH: 5,
  PERCPU_ARRAY: 6,
  LRU_HASH: 9,
  LRU_PERCPU_HASH: 10,
  LPM_TRIE: 11,
  ARRAY_OF_MAPS: 12,
  HASH_OF_MAPS: 13,
  /** Per-socket storage: no keys to iterate (lb4_sock_peer). */
  SK_STORAGE: 24,
  /** Ring buffer: no keys or values, records read with libbpf's ring_buffer (monitor_events). */
  RINGBUF: 27,
} as const;

export const MapTypeName: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(MapType).map(([k, v]) => [v, k.toLowerCase()]),
);

export const UpdateFlags = { ANY: 0, NOEXIST: 1, EXIST: 2 } as const;

export const MapFlags = { NO_PREALLOC: 1, INNER_MAP: 1 << 12 } as const;

const PERCPU = new Set<number>([MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH]);
export function isPerCpu(type: number): boolean { return PERCPU.has(type); }

/** Types whose batch ops the kernel implements (hash and array families). */
const BATCHABLE = new Set<number>([MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH,
  MapType.ARRAY, MapType.PERCPU_ARRAY]);
export function supportsBatch(type: number): boolean { return BATCHABLE.has(type); }
/** An array of maps reads in batches too (skipping empty slots), but has no batch delete. */
export function supportsLookupBatch(type: number): boolean { return BATCHABLE.has(type) || type === MapType.ARRAY_OF_MAPS; }
