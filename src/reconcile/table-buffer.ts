/**
 * A Maglev table as the inner maps of lb4_maglev hold it: one ARRAY per
 * service, ceil(M / DSRLB_MAGLEV_SLOTS_PER_ENTRY) elements of
 * DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids each (bpf/lib/maps.h). Pure: the
 * real maps (maps/maglev-maps.ts) and the in-memory ones (maps/memory-maps.ts)
 * both take and give these.
 */
import { DSRLB_MAGLEV_SLOTS_PER_ENTRY } from '../bpf/consts.generated.js';
import { maglevElements } from '../bpf/codecs/maglev.js';

const scratchBuffers: [Uint32Array, Uint32Array] = [new Uint32Array(0), new Uint32Array(0)];
/** Bytes of one element: DSRLB_MAGLEV_SLOTS_PER_ENTRY u32 backend ids. */
export const ELEMENT_BYTES = 4 * DSRLB_MAGLEV_SLOTS_PER_ENTRY;

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

  /** Element `e`'s slots (a view). */
  element(e: number): Uint32Array {
    return this.padded.subarray(e * DSRLB_MAGLEV_SLOTS_PER_ENTRY, (e + 1) * DSRLB_MAGLEV_SLOTS_PER_ENTRY);
  }
}
