/**
 * Maglev tables in lb4_maglev: written in place when the inner map has room,
 * else built in a new inner map and swapped in, in batches (every update of a
 * map-of-maps waits for an RCU grace period in the kernel, ~10 ms here: at
 * most three batches per sync). Steps 4 and 7 of the ordered apply (apply.ts)
 * and the tables' part of step 8.
 */
import { BpfError } from '../bpf/errors.js';
import { maglevElements } from '../bpf/codecs/maglev.js';
import type { ReconcileContext } from './context.js';
import type { Members, TableState } from './held.js';
import { maglevTableOf, maglevTableSize } from './maglev.js';
import { markMoved } from './moved-slots.js';
import type { TableStream } from './maglev-builder.js';
import type { InnerTable, MaglevMaps } from './maps/lb-maps.js';
import type { Counts } from './result.js';
import { TableBuffer } from './table-buffer.js';
import type { Wanted } from './wanted.js';

/** New inner maps held open before they go into lb4_maglev in one batch (one RCU grace period per batch). */
const TABLE_BATCH = 4096;

function sameMembers(a: Members, b: Members): boolean {
  if (a.ids.length !== b.ids.length) return false;
  for (let i = 0; i < a.ids.length; i++) {
    if (a.ids[i] !== b.ids[i] || (a.names[i] as { name: string }).name !== (b.names[i] as { name: string }).name) return false;
  }
  return true;
}

/** New inner tables waiting to go into lb4_maglev together, each with the state it will have. */
class OuterBatch {
  private entries: [number, InnerTable][] = [];
  private states: [number, TableState][] = [];

  constructor(private readonly maglev: MaglevMaps) {}

  get size(): number { return this.entries.length; }

  add(serviceId: number, t: InnerTable, state: TableState): void {
    this.entries.push([serviceId, t]);
    this.states.push([serviceId, state]);
  }

  /** Puts every table in and returns their states; closes the handles whatever happens. */
  flush(): [number, TableState][] {
    const states = this.states;
    try {
      this.maglev.swap(this.entries);
    } finally {
      this.discard();
    }
    return states;
  }

  discard(): void {
    for (const [, t] of this.entries) this.maglev.close(t);
    this.entries = [];
    this.states = [];
  }
}

/** One sync's table writes: new and growing tables before the services change, shrunk ones after. */
export class TableWrites {
  private readonly early: OuterBatch;
  private readonly late: OuterBatch;
  private stream: TableStream | undefined;

  constructor(private readonly c: ReconcileContext) {
    this.early = new OuterBatch(c.maps.maglev);
    this.late = new OuterBatch(c.maps.maglev);
  }

  /** 4. Every changed table: in place, or new (swapped in now unless it shrank). */
  write(want: Wanted, res: Counts): void {
    const tables = this.c.held.tables;
    const todo: [number, { size: number; members: Members }][] = [];
    for (const [sid, t] of want.tables) {
      const cur = tables.get(sid);
      if (cur && cur.size === t.size && cur.members && sameMembers(cur.members, t.members)) res.tables.unchanged++;
      else todo.push([sid, t]);
    }
    // All of them at once: the builder works ahead (on its worker thread) while this loop writes.
    const stream = this.c.tableBuilder.build(todo.map(([, t]) => ({ names: t.members.names, ids: t.members.ids, size: t.size })));
    this.stream = stream;
    const kept = this.keepPrevious(todo);
    res.tables.previousKept += kept.size;
    const previous = new PreviousTables(this.c.maps.maglev);
    for (const [sid, t] of todo) {
      const cur = tables.get(sid);
      const table = stream.next();
      // Against the table it replaces when that one became the previous, else the previous table in the maps
      // (an adopted service's, or one left by a service that had no backends for a while).
      const prev = kept.has(sid) && cur?.members
        ? maglevTableOf(cur.members.names, cur.members.ids, cur.size, TableBuffer.scratch(cur.size, 1).slots)
        : previous.of(sid);
      if (prev) markMoved(table.slots, prev);
      if (cur && !kept.has(sid) && this.updateInPlace(sid, cur, table, res.tables)) {
        tables.set(sid, { size: t.size, capacity: tables.get(sid)?.capacity ?? null, members: t.members });
        continue;
      }
      const shrinking = cur !== undefined && cur.size > t.size;
      // A table that outgrew its inner map is likely to grow again: leave room for an eighth more backends.
      const capacity = cur && !shrinking && !kept.has(sid) ? this.roomToGrow(t.members.ids.length, table.elements) : table.elements;
      const state: TableState = { size: t.size, capacity, members: t.members };
      const handle = this.create(sid, table, capacity);
      res.tables.elementsWritten += table.elements;
      if (shrinking) {
        this.late.add(sid, handle, state);
      } else {
        this.early.add(sid, handle, state);
        if (cur) res.tables.replaced++;
        else res.tables.created++;
      }
    }
    for (const [sid, s] of this.early.flush()) tables.set(sid, s);
  }

  /**
   * Every table about to change whose members are known (a change of the
   * backend set, not the repair of an adopted table) becomes its service's
   * previous table (docs/datapath.md, "Stateless LB node"): the inner map
   * moves to lb4_maglev_prev as it is, shared rather than copied, and the
   * new table gets an inner map of its own. It stays until the next change.
   * Until the new table is swapped in, both name the same map, so the
   * datapath finds no second chance. Returns the services whose table moved.
   */
  private keepPrevious(todo: readonly (readonly [number, unknown])[]): Set<number> {
    return keepAsPrevious(this.c, todo.filter(([sid]) => this.c.held.tables.get(sid)?.members).map(([sid]) => sid));
  }

  /** 7. Tables that shrank into a new inner map, now that the services name their new size. */
  swapShrunk(res: Counts): void {
    const swapped = this.late.flush();
    for (const [sid, s] of swapped) this.c.held.tables.set(sid, s);
    res.tables.replaced += swapped.length;
  }

  /** Releases what a sync that stopped part way still holds. */
  close(): void {
    this.stream?.close();
    this.early.discard();
    this.late.discard();
  }

  /** Elements for a table of `backends` backends that should take a few more without a new inner map. */
  private roomToGrow(backends: number, elements: number): number {
    return Math.max(elements, maglevElements(maglevTableSize(backends + Math.max(1, Math.ceil(backends / 8)), this.c.maxSize)));
  }

  /**
   * A new inner map holding `table`. When too many are open, or the process
   * runs out of fds, the ones waiting in the early batch go in first (they are
   * new or growing: putting them in before the services change is safe).
   */
  private create(sid: number, table: TableBuffer, capacity: number): InnerTable {
    const flushPending = (): void => {
      for (const [id, s] of this.early.flush()) this.c.held.tables.set(id, s);
    };
    if (this.early.size >= TABLE_BATCH) flushPending();
    try {
      return this.c.maps.maglev.create(sid, table, capacity);
    } catch (e) {
      if (!(e instanceof BpfError) || e.code !== 'ERR_BPF_EMFILE' || this.early.size === 0) throw e;
      flushPending();
      return this.c.maps.maglev.create(sid, table, capacity);
    }
  }

  /**
   * Rewrites table `sid` in its inner map when that map has room for the new
   * size: only the elements that differ when the size is the same, all of
   * them when it changed (the service names the old size until step 6, and
   * every slot it can reach holds a live backend throughout). False when the
   * inner map is missing or too small.
   */
  private updateInPlace(sid: number, cur: TableState, next: TableBuffer, stats: Counts['tables']): boolean {
    if (cur.capacity !== null && cur.capacity < next.elements) return false;
    const maglev = this.c.maps.maglev;
    const innerId = maglev.lookup(sid);
    if (innerId === undefined) return false;
    const handle = maglev.open(sid, innerId);
    try {
      const capacity = cur.capacity ?? maglev.capacity(sid, handle);
      this.c.held.tables.set(sid, { ...cur, capacity });
      if (capacity < next.elements) return false;
      let elements: number[];
      if (cur.size === next.size) {
        let old: TableBuffer;
        if (cur.members) {
          old = TableBuffer.scratch(cur.size, 1);
          maglevTableOf(cur.members.names, cur.members.ids, cur.size, old.slots);
          old.fillPadding();
        } else {
          old = maglev.read(sid, handle, cur.size);
        }
        elements = next.changedElements(old);
      } else {
        elements = Array.from({ length: next.elements }, (_, i) => i);
      }
      maglev.write(sid, handle, next, elements);
      stats.elementsWritten += elements.length;
      if (elements.length > 0) stats.updated++;
      else stats.unchanged++;
      return true;
    } finally {
      maglev.close(handle);
    }
  }
}

/** The previous tables in the maps, read when first asked for (after an adoption their contents are unknown). */
class PreviousTables {
  private held: Map<number, { innerId: number; size: number }> | undefined;

  constructor(private readonly maglev: MaglevMaps) {}

  /** The slots of `sid`'s previous table, or undefined when it has none. */
  of(sid: number): Uint32Array | undefined {
    this.held ??= new Map(this.maglev.prevEntries());
    const p = this.held.get(sid);
    if (!p || p.size === 0) return undefined;
    const h = this.maglev.open(sid, p.innerId);
    try {
      return this.maglev.read(sid, h, p.size).slots.slice();
    } finally {
      this.maglev.close(h);
    }
  }
}

/** Makes these services' current tables their previous ones (the same inner maps); returns those that had one. */
function keepAsPrevious(c: ReconcileContext, serviceIds: readonly number[]): Set<number> {
  const maglev = c.maps.maglev;
  const moved: [number, InnerTable, number][] = [];
  try {
    for (const sid of serviceIds) {
      const cur = c.held.tables.get(sid);
      const innerId = maglev.lookup(sid);
      if (cur && innerId !== undefined) moved.push([sid, maglev.open(sid, innerId), cur.size]);
    }
    maglev.putPrev(moved);
  } finally {
    for (const [, t] of moved) maglev.close(t);
  }
  return new Set(moved.map(([sid]) => sid));
}

/** 8. Tables of groups that are gone, or that have no backends now, or that an earlier run left. */
export function deleteTables(c: ReconcileContext, want: Wanted, gone: ReadonlySet<number>, res: Counts): void {
  const candidates = [...gone, ...want.groupIds, ...(c.adopted?.tables ?? [])];
  const stale: number[] = [];
  for (const sid of new Set(candidates)) {
    if (!c.held.tables.has(sid) || want.tables.has(sid)) continue;
    // An adopted table is kept only if a group holds its id and has backends: then it is in want.tables.
    stale.push(sid);
  }
  // A group left without backends keeps its last table as the previous one: the flows
  // of its terminating backends go on (docs/datapath.md); a group that is gone loses both.
  const kept = keepAsPrevious(c, stale.filter((sid) => want.groupIds.has(sid) && c.held.tables.get(sid)?.members));
  c.maps.maglev.delete(stale);
  for (const sid of stale) c.held.tables.delete(sid);
  // Previous tables go with their group (after an adoption: any whose service has no table).
  const prevStale = c.adopted ? c.maps.maglev.prevEntries().map(([sid]) => sid).filter((sid) => !c.held.tables.has(sid)) : [];
  c.maps.maglev.deletePrev([...new Set([...gone, ...stale, ...prevStale])].filter((sid) => !kept.has(sid)));
  res.tables.deleted = stale.length;
}
