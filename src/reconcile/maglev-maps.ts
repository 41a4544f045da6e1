/**
 * The inner maps of lb4_maglev: one ARRAY per service, ceil(M / DSRLB_MAGLEV_SLOTS_PER_ENTRY)
 * elements of DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids each (bpf/lib/maps.h). Tables
 * are many (one per backend set) and written whole, so this talks to the
 * addon directly with prebuilt buffers instead of a codec per element.
 */
import { DSRLB_MAGLEV_SLOTS_PER_ENTRY } from '../bpf/consts.generated.js';
import { maglevElements } from '../bpf/codecs/maglev.js';
import { call } from '../bpf/errors.js';
import { MapFlags, MapType, UpdateFlags } from '../bpf/map-types.js';
import { native, type NativeBatch } from '../bpf/native.js';
import type { BpfMap } from '../bpf/map.js';
import { DsrlbError } from '../errors.js';

const SLOT_BYTES = 4;
const scratchBuffers: [Uint32Array, Uint32Array] = [new Uint32Array(0), new Uint32Array(0)];
const ELEMENT_BYTES = SLOT_BYTES * DSRLB_MAGLEV_SLOTS_PER_ENTRY;
const KEY_BYTES = 4;
/** Most elements per lookup-batch call when reading a table back (the addon allocates this much per call). */
const READ_CHUNK = 8192;

/**
 * A table's slots in memory laid out exactly like the inner map's values
 * (little-endian u32 per slot, padded to whole elements), so the bytes go to
 * the kernel as they are.
 */
export class TableBuffer {
  /** Slot -> backend id; length M. */
  readonly slots: Uint32Array;
  readonly elements: number;
  private readonly padded: Uint32Array;

  /** @param backing memory to use (at least the padded length), e.g. from scratch(). */
  constructor(readonly size: number, backing?: Uint32Array) {
    this.elements = maglevElements(size);
    const length = this.elements * DSRLB_MAGLEV_SLOTS_PER_ENTRY;
    this.padded = backing ? backing.subarray(0, length) : new Uint32Array(length);
    this.slots = this.padded.subarray(0, size);
  }

  /**
   * A table over shared memory (`which` picks one of two), valid until the
   * next scratch() call with the same `which`: tables go to the kernel as
   * soon as they are built, so one buffer serves them all.
   */
  static scratch(size: number, which: 0 | 1 = 0): TableBuffer {
    const need = maglevElements(size) * DSRLB_MAGLEV_SLOTS_PER_ENTRY;
    let buf = scratchBuffers[which];
    if (buf.length < need) {
      buf = new Uint32Array(need);
      scratchBuffers[which] = buf;
    }
    return new TableBuffer(size, buf);
  }

  /** Element values as bytes (host order: the kernel's). */
  bytes(): Buffer {
    return Buffer.from(this.padded.buffer, this.padded.byteOffset, this.elements * ELEMENT_BYTES);
  }

  /**
   * Fills the slots past M in the last element (padding) with slot 0's
   * backend. The datapath never reads them under this table's own size, but
   * a table rewritten in place to a smaller size is read under the old, larger
   * size until the service entry changes: every slot it can reach must name a
   * live backend then.
   */
  fillPadding(): void {
    this.padded.fill(this.slots[0] ?? 0, this.size);
  }

  /** Indexes of the elements that differ from `other` (same size). */
  changedElements(other: TableBuffer): number[] {
    const out: number[] = [];
    const a = this.padded;
    const b = other.padded;
    for (let e = 0; e < this.elements; e++) {
      const base = e * DSRLB_MAGLEV_SLOTS_PER_ENTRY;
      for (let k = 0; k < DSRLB_MAGLEV_SLOTS_PER_ENTRY; k++) {
        if (a[base + k] !== b[base + k]) {
          out.push(e);
          break;
        }
      }
    }
    return out;
  }
}

let indexKeys = Buffer.alloc(0);
/** u32 keys 0..n-1, shared. */
function keysUpTo(n: number): Buffer {
  if (indexKeys.length < n * KEY_BYTES) {
    const cap = Math.max(n, (indexKeys.length / KEY_BYTES) * 2, 1024);
    indexKeys = Buffer.alloc(cap * KEY_BYTES);
    for (let i = 0; i < cap; i++) indexKeys.writeUInt32LE(i, i * KEY_BYTES);
  }
  return indexKeys.subarray(0, n * KEY_BYTES);
}

function subject(serviceId: number): string {
  return `lb4_maglev[${serviceId}]`;
}

/**
 * Creates an inner table holding `table` and returns its fd (the caller
 * closes it). `capacity` (elements, at least the table's) leaves room to grow
 * in place later; the elements past the table stay zero, and no slot the
 * datapath computes from the service's maglev_size reaches them.
 */
export function createInnerTable(serviceId: number, table: TableBuffer, capacity = table.elements): number {
  const name = `lb4_mg_${serviceId}`.slice(0, 15);
  const fd = call(subject(serviceId), () => native().mapCreate(MapType.ARRAY, name, KEY_BYTES, ELEMENT_BYTES,
    Math.max(capacity, table.elements), MapFlags.INNER_MAP));
  try {
    call(subject(serviceId), () => native().mapUpdateBatch(fd, keysUpTo(table.elements), table.bytes(), table.elements, UpdateFlags.ANY));
  } catch (e) {
    native().closeFd(fd);
    throw e;
  }
  return fd;
}

/** Writes the given elements of `table` into an existing inner table. */
export function writeInnerElements(serviceId: number, fd: number, table: TableBuffer, elements: readonly number[]): void {
  if (elements.length === 0) return;
  const keys = Buffer.alloc(elements.length * KEY_BYTES);
  const values = Buffer.alloc(elements.length * ELEMENT_BYTES);
  const src = table.bytes();
  elements.forEach((e, i) => {
    keys.writeUInt32LE(e, i * KEY_BYTES);
    src.copy(values, i * ELEMENT_BYTES, e * ELEMENT_BYTES, (e + 1) * ELEMENT_BYTES);
  });
  call(subject(serviceId), () => native().mapUpdateBatch(fd, keys, values, elements.length, UpdateFlags.ANY));
}

/** An fd for the inner table with kernel map id `id` (the caller closes it). */
export function openInnerTable(serviceId: number, id: number): number {
  return call(subject(serviceId), () => native().mapFdById(id));
}

/** Elements the inner table has (its max_entries). */
export function innerTableElements(serviceId: number, fd: number): number {
  const info = call(subject(serviceId), () => native().mapInfo(fd));
  if (info.type !== MapType.ARRAY || info.valueSize !== ELEMENT_BYTES) {
    throw new DsrlbError('ERR_MAGLEV_INNER', `inner table is a ${info.type}/${info.valueSize}-byte map, not a Maglev array`, {
      subject: subject(serviceId), remedy: 'run dsrlb-agent cleanup and restart the agent',
    });
  }
  return info.maxEntries;
}

/** Reads an inner table of `size` slots back. */
export function readInnerTable(serviceId: number, fd: number, size: number): TableBuffer {
  const table = new TableBuffer(size);
  // One more than the table's elements: the whole table and the end in one call.
  const chunk = Math.min(READ_CHUNK, table.elements + 1);
  const dst = table.bytes();
  let token: Buffer | null = null;
  for (;;) {
    const t: Buffer | null = token;
    const b: NativeBatch = call(subject(serviceId), () => native().mapLookupBatch(fd, t, KEY_BYTES, ELEMENT_BYTES, chunk));
    let last = -1;
    if (b.count > 0) {
      const first = b.keys.readUInt32LE(0);
      last = b.keys.readUInt32LE((b.count - 1) * KEY_BYTES);
      if (last - first + 1 === b.count) {
        // Arrays come back as one run of consecutive elements: one copy.
        const upto = Math.min(last + 1, table.elements);
        if (first < upto) b.values.copy(dst, first * ELEMENT_BYTES, 0, (upto - first) * ELEMENT_BYTES);
      } else {
        for (let i = 0; i < b.count; i++) {
          const e = b.keys.readUInt32LE(i * KEY_BYTES);
          if (e < table.elements) b.values.copy(dst, e * ELEMENT_BYTES, i * ELEMENT_BYTES, (i + 1) * ELEMENT_BYTES);
        }
      }
    }
    // Arrays come back in index order: past the table's last element, the rest is spare room.
    if (b.done || last >= table.elements - 1) break;
    token = b.token;
  }
  return table;
}

export function closeFd(fd: number): void {
  native().closeFd(fd);
}

/**
 * lb4_maglev writes, in batches: every update of a map-of-maps waits for an
 * RCU grace period in the kernel (synchronize_rcu, ~10 ms here), once per
 * batch instead of once per table. Each table carries a state of the caller's
 * that flush() hands back for the tables it put in.
 */
export class OuterBatch<S> {
  private keys: number[] = [];
  private fds: number[] = [];
  private states: [number, S][] = [];

  constructor(private readonly outer: BpfMap<number, number>) {}

  get size(): number { return this.keys.length; }

  add(serviceId: number, fd: number, state: S): void {
    this.keys.push(serviceId);
    this.fds.push(fd);
    this.states.push([serviceId, state]);
  }

  /** Puts every table in and returns their states; closes the fds whatever happens. */
  flush(): [number, S][] {
    const states = this.states;
    if (this.keys.length === 0) return states;
    const n = this.keys.length;
    const keys = Buffer.alloc(n * 4);
    const values = Buffer.alloc(n * 4);
    for (let i = 0; i < n; i++) {
      keys.writeUInt32LE(this.keys[i] as number, i * 4);
      values.writeUInt32LE(this.fds[i] as number, i * 4);
    }
    try {
      call(this.outer.name, () => native().mapUpdateBatch(this.outer.fd, keys, values, n, UpdateFlags.ANY));
    } finally {
      this.discard();
    }
    return states;
  }

  discard(): void {
    for (const fd of this.fds) closeFd(fd);
    this.keys = [];
    this.fds = [];
    this.states = [];
  }
}

export function deleteOuterBatch(outer: BpfMap<number, number>, ids: readonly number[]): void {
  if (ids.length === 0) return;
  const keys = Buffer.alloc(ids.length * 4);
  ids.forEach((k, i) => keys.writeUInt32LE(k, i * 4));
  const n = call(outer.name, () => native().mapDeleteBatch(outer.fd, keys, ids.length));
  // The kernel stops at the first missing key: finish one by one.
  for (const id of ids.slice(n + 1)) outer.delete(id);
}
