/**
 * The inner maps of lb4_maglev: one ARRAY per service, ceil(M / DSRLB_MAGLEV_SLOTS_PER_ENTRY)
 * elements of DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids each (bpf/lib/maps.h). Tables
 * are many (one per backend set) and written whole, so this talks to the
 * addon directly with prebuilt buffers instead of a codec per element.
 */
import { call } from '../../bpf/errors.js';
import { MapFlags, MapType, UpdateFlags } from '../../bpf/map-types.js';
import { native, type NativeBatch } from '../../bpf/native.js';
import type { BpfMap } from '../../bpf/map.js';
import { DsrlbError } from '../../errors.js';
import { ELEMENT_BYTES, TableBuffer } from '../table-buffer.js';

const KEY_BYTES = 4;
/** Most elements per lookup-batch call when reading a table back (the addon allocates this much per call). */
const READ_CHUNK = 8192;

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
 * Puts tables into lb4_maglev in one batch update: every update of a
 * map-of-maps waits for an RCU grace period in the kernel (synchronize_rcu,
 * ~10 ms here), once per batch instead of once per table.
 */
export function updateOuterBatch(outer: BpfMap<number, number>, entries: readonly (readonly [serviceId: number, fd: number])[]): void {
  if (entries.length === 0) return;
  const n = entries.length;
  const keys = Buffer.alloc(n * 4);
  const values = Buffer.alloc(n * 4);
  entries.forEach(([sid, fd], i) => {
    keys.writeUInt32LE(sid, i * 4);
    values.writeUInt32LE(fd, i * 4);
  });
  call(outer.name, () => native().mapUpdateBatch(outer.fd, keys, values, n, UpdateFlags.ANY));
}
