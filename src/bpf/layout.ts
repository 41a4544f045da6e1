/**
 * Map layouts, pure: what a build's maps look like in memory (type, sizes,
 * flags, max entries, the BTF layout of key and value), the layout's identity
 * (a hash of all of it, so a struct change changes it without a manual bump)
 * and the translation of one entry from one layout to another by BTF member
 * names (docs/agent.md "Upgrades across map layouts").
 */
import { createHash } from 'node:crypto';

/** One BTF type as the addon renders it (typedefs and qualifiers looked through). */
export interface TypeLayout {
  readonly kind: 'int' | 'struct' | 'union' | 'array' | 'other';
  readonly name: string;
  readonly size: number;
  readonly members?: readonly { readonly name: string; readonly offset: number; readonly type: TypeLayout }[];
  readonly elem?: TypeLayout;
  readonly count?: number;
}

export interface MapLayout {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** null: the map carries no BTF for it (map-in-map values, maps userspace creates). */
  readonly key: TypeLayout | null;
  readonly value: TypeLayout | null;
  /** Inner map template of a map-in-map, "type/keySize/valueSize/flags". */
  readonly inner: string | null;
}

/** Length of the hex layout id in pin paths: 48 bits, collisions are not a concern for a handful of builds. */
const LAYOUT_ID_HEX = 12;

/** A canonical string of a layout: member order kept, object keys sorted. */
export function canonical(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(canonical).join(',')}]`;
  if (x !== null && typeof x === 'object') {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(x);
}

/** The identity of a set of maps: equal exactly when every map's layout is equal. */
export function layoutId(maps: readonly MapLayout[]): string {
  const sorted = [...maps].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return createHash('sha256').update(canonical(sorted)).digest('hex').slice(0, LAYOUT_ID_HEX);
}

/** Two maps are the same kernel-compatible map with the same meaning: one can stand for the other. */
export function sameMapLayout(a: MapLayout, b: MapLayout): boolean {
  const shape = (m: MapLayout): string => canonical([m.type, m.keySize, m.valueSize, m.maxEntries, m.flags, m.key, m.value, m.inner]);
  return shape(a) === shape(b);
}

/** Rewrites one key or value from the old layout into the new one. */
export interface Translation {
  /** The bytes are copied unchanged. */
  readonly identical: boolean;
  /** Members of the new layout that get zero (new, or changed beyond what is translated), by path. */
  readonly zeroed: readonly string[];
  /** Members of the old layout that are not carried, by path. */
  readonly dropped: readonly string[];
  readonly apply: (from: Buffer, fromOffset: number, to: Buffer, toOffset: number) => void;
}

type Copier = (from: Buffer, fo: number, to: Buffer, to2: number) => void;

function copyBytes(n: number): Copier {
  return (from, fo, to, too) => { from.copy(to, too, fo, fo + n); };
}

/**
 * How to translate a `from` value into a `to` value, or undefined when
 * nothing of it can be carried. Supported: identical layouts (bytes copied);
 * structs member by member by name (common members translated recursively,
 * new ones zero, removed ones dropped); unsigned integers that grew
 * (little-endian: low bytes copied, the rest zero); arrays of translatable
 * elements (the common prefix). Without BTF on either side, equal sizes are
 * copied as bytes (both builds' userspace defines such values).
 */
export function translation(from: TypeLayout | null, to: TypeLayout | null, fromSize: number, toSize: number): Translation | undefined {
  if (from === null || to === null) {
    return fromSize === toSize ? { identical: true, zeroed: [], dropped: [], apply: copyBytes(toSize) } : undefined;
  }
  const zeroed: string[] = [];
  const dropped: string[] = [];
  const copier = translate(from, to, '', zeroed, dropped);
  if (!copier) return undefined;
  return { identical: canonical(from) === canonical(to), zeroed, dropped, apply: copier };
}

function translate(from: TypeLayout, to: TypeLayout, path: string, zeroed: string[], dropped: string[]): Copier | undefined {
  if (canonical(from) === canonical(to)) return copyBytes(to.size);
  if (from.kind === 'int' && to.kind === 'int' && to.size > from.size) return copyBytes(from.size);
  if (from.kind === 'array' && to.kind === 'array' && from.elem && to.elem) {
    const elem = translate(from.elem, to.elem, `${path}[]`, zeroed, dropped);
    if (!elem) return undefined;
    const n = Math.min(from.count ?? 0, to.count ?? 0);
    const fs = from.elem.size;
    const ts = to.elem.size;
    return (f, fo, t, too) => { for (let i = 0; i < n; i++) elem(f, fo + i * fs, t, too + i * ts); };
  }
  if (from.kind !== 'struct' || to.kind !== 'struct') return undefined;
  const parts: Copier[] = [];
  for (const m of to.members ?? []) {
    const old = from.members?.find((x) => x.name === m.name && m.name !== '');
    const sub = old ? translate(old.type, m.type, `${path}${m.name}.`, zeroed, dropped) : undefined;
    if (!old || !sub) {
      zeroed.push(`${path}${m.name}`);
      continue;
    }
    const fo0 = old.offset;
    const to0 = m.offset;
    parts.push((f, fo, t, too) => sub(f, fo + fo0, t, too + to0));
  }
  for (const m of from.members ?? []) {
    if (!(to.members ?? []).some((x) => x.name === m.name)) dropped.push(`${path}${m.name}`);
  }
  return (f, fo, t, too) => { for (const p of parts) p(f, fo, t, too); };
}
