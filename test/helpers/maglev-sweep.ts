/**
 * Disruption and balance of Maglev tables over backend counts: for a backend
 * count N, the set of the first N of a fixed universe of pod names, and every
 * single change to it (one backend added or removed: random, first or last
 * by name). Used by test/unit/maglev-disruption.test.ts (the bound) and
 * bench/maglev-disruption.ts (the figures in docs/reconcile.md).
 *
 * A flow hash h reaches slot h % M; between sizes M and 2M the comparison runs
 * over the 2M slots of the larger, slot s meeting slot s % M of the smaller.
 * "Excess" is the fraction of the flows of the backends that stay which move,
 * beyond what the change forces: 1/(N+1) when one is added, nothing when one
 * is removed.
 */
import { maglevTable, maglevTableSize, type MaglevBackend } from '../../src/reconcile/maglev.js';
import { seededRandom } from './rng.js';

export const SWEEP_MAX_N = 1000;
export const CHANGES = ['add random', 'add first by name', 'add last by name', 'remove random', 'remove first by name', 'remove last by name'] as const;
export type Change = typeof CHANGES[number];

export interface Table { readonly m: number; readonly slots: Uint32Array }

/** 2 x SWEEP_MAX_N distinct pod names in a random order; a backend's id is its index + 1. */
function universe(): MaglevBackend[] {
  const rnd = seededRandom(14);
  const seen = new Set<string>();
  const out: MaglevBackend[] = [];
  while (out.length < 2 * SWEEP_MAX_N) {
    const x = Math.floor(rnd() * 65536);
    const name = `10.244.${x >> 8}.${x & 255}:8080`;
    if (seen.has(name)) continue;
    seen.add(name);
    out.push({ id: out.length + 1, name });
  }
  return out;
}

export const UNIVERSE = universe();
/** Names that sort before and after every name of UNIVERSE. */
const FIRST: MaglevBackend = { id: 2 * SWEEP_MAX_N + 1, name: '0.0.0.1:8080' };
const LAST: MaglevBackend = { id: 2 * SWEEP_MAX_N + 2, name: '9.9.9.9:8080' };
const IDS = 2 * SWEEP_MAX_N + 3;

export function table(set: readonly MaglevBackend[], max?: number): Table {
  const m = maglevTableSize(set.length, max);
  return { m, slots: maglevTable(set, m) };
}

/** Of the flows whose backend stays (stays[id] = 1), the fraction that another backend gets after the change. */
export function moved(before: Table, after: Table, stays: Uint8Array): number {
  const span = Math.max(before.m, after.m);
  let owned = 0;
  let lost = 0;
  for (let s = 0; s < span; s++) {
    const was = before.slots[s % before.m] as number;
    if (stays[was] !== 1) continue;
    owned++;
    if (after.slots[s % after.m] !== was) lost++;
  }
  return lost / owned;
}

/** stays[id] = 1 for every backend of `set`. */
export function staying(set: readonly MaglevBackend[]): Uint8Array {
  const stays = new Uint8Array(IDS);
  for (const b of set) stays[b.id] = 1;
  return stays;
}

/** max share / fair share; throws unless every share is floor or ceil of M/N. */
export function balance(t: Table, n: number): number {
  const counts = new Map<number, number>();
  for (const id of t.slots) counts.set(id, (counts.get(id) ?? 0) + 1);
  if (counts.size !== Math.min(n, t.m)) throw new Error(`${counts.size} backends in a table of ${n}`);
  let most = 0;
  for (const c of counts.values()) {
    if (c !== Math.floor(t.m / n) && c !== Math.ceil(t.m / n)) throw new Error(`a share of ${c} slots, M=${t.m} N=${n}`);
    most = Math.max(most, c);
  }
  return (most * n) / t.m;
}

export interface Outcome { readonly n: number; readonly change: Change; readonly excess: number; readonly from: number; readonly to: number }

/** The set of N backends after `change`. */
function changed(set: readonly MaglevBackend[], change: Change): MaglevBackend[] {
  const n = set.length;
  const byName = (pick: (a: MaglevBackend, b: MaglevBackend) => boolean) => set.reduce((x, y) => (pick(y, x) ? y : x));
  switch (change) {
    case 'add random': return [...set, UNIVERSE[n] as MaglevBackend];
    case 'add first by name': return [...set, FIRST];
    case 'add last by name': return [...set, LAST];
    case 'remove random': {
      const victim = UNIVERSE[(n * 7919) % n];
      return set.filter((b) => b !== victim);
    }
    case 'remove first by name': {
      const first = byName((a, b) => a.name < b.name);
      return set.filter((b) => b !== first);
    }
    case 'remove last by name': {
      const last = byName((a, b) => a.name > b.name);
      return set.filter((b) => b !== last);
    }
  }
}

/**
 * Every change to the first N backends of UNIVERSE, for every N in `ns`
 * (ascending), with tables capped by `max` (--maglev-table-size). Calls
 * `each` with the table of every N (for balance) and every outcome.
 */
export function sweep(ns: readonly number[], max: number | undefined, each: (o: Outcome | { n: number; table: Table }) => void): void {
  let next: Table | undefined;
  let nextN = -1;
  for (const n of ns) {
    const set = UNIVERSE.slice(0, n);
    const before = nextN === n && next ? next : table(set, max);
    each({ n, table: before });
    for (const change of CHANGES) {
      if (change.startsWith('remove') && n === 1) continue;
      const after = changed(set, change);
      const t = table(after, max);
      if (change === 'add random') {
        next = t;
        nextN = n + 1;
      }
      const stays = staying(after.length > n ? set : after);
      const forced = after.length > n ? 1 / after.length : 0;
      each({ n, change, excess: moved(before, t, stays) - forced, from: before.m, to: t.m });
    }
  }
}
