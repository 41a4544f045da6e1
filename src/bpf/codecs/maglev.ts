/**
 * lb4_maglev inner tables: arrays whose elements hold
 * DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids each (the kernel rounds array
 * elements up to 8 bytes, so two u32 slots per element halve the memory).
 */
import { DSRLB_MAGLEV_SLOTS_PER_ENTRY } from '../consts.generated.js';
import type { Codec } from '../codec.js';

const SLOT_BYTES = 4;

export const maglevEntry: Codec<readonly number[]> = {
  size: SLOT_BYTES * DSRLB_MAGLEV_SLOTS_PER_ENTRY,
  encode(ids) {
    const b = Buffer.alloc(this.size);
    for (let i = 0; i < DSRLB_MAGLEV_SLOTS_PER_ENTRY; i++) b.writeUInt32LE(ids[i] ?? 0, i * SLOT_BYTES);
    return b;
  },
  decode(b, o = 0) {
    return Array.from({ length: DSRLB_MAGLEV_SLOTS_PER_ENTRY }, (_, i) => b.readUInt32LE(o + i * SLOT_BYTES));
  },
};

/** Elements needed for a table of `slots` slots. */
export function maglevElements(slots: number): number {
  return Math.ceil(slots / DSRLB_MAGLEV_SLOTS_PER_ENTRY);
}

/** A whole table as the raw bytes of consecutive elements (slot s at element s/2, lane s%2). */
export function encodeMaglevTable(table: Uint32Array): Buffer {
  const elements = maglevElements(table.length);
  const buf = Buffer.alloc(elements * SLOT_BYTES * DSRLB_MAGLEV_SLOTS_PER_ENTRY);
  for (let s = 0; s < table.length; s++) buf.writeUInt32LE(table[s] ?? 0, s * SLOT_BYTES);
  return buf;
}

/** A table as inner-map entries: element index -> its DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids. */
export function maglevEntries(slots: ArrayLike<number>): [number, number[]][] {
  return Array.from({ length: maglevElements(slots.length) }, (_, e) => [e, Array.from(
    { length: DSRLB_MAGLEV_SLOTS_PER_ENTRY }, (_, k) => slots[e * DSRLB_MAGLEV_SLOTS_PER_ENTRY + k] ?? 0)]);
}
