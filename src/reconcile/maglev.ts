/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, §3.4) on nested table sizes:
 * the lookup table the datapath indexes with `flow hash % M` to pick a
 * backend for a new flow.
 *
 * Sizes are M_k = B x 2^k, B = DSRLB_MAGLEV_BASE_SIZE (a prime). Since
 * h % M_k == (h % M_{k+1}) % M_k, slot s of a table of M_k slots has two
 * children in the next size, s and s + M_k, and a table that doubles by
 * copying itself moves no flow. The fill keeps that structure: a backend's
 * preference list at level k is its level-0 Maglev permutation of the B base
 * slots (offset = h1 % B, skip = h2 % (B - 1) + 1) with every base slot
 * expanded into its 2^k descendants, in an order that is the same for every
 * backend (the order of children at each level, see descendantOrder). Filled
 * depth-major with exact quotas, the table of a set at level k + 1 is, but for
 * the slots the quotas move, two copies of its table at level k, and within a
 * level it is a Maglev table: one backend added or removed moves about 1/N of
 * the flows of the others, a size change included. docs/reconcile.md has the
 * figures, test/unit/maglev-disruption.test.ts the bound for N = 1..1000.
 *
 * The table depends only on the set of {name, id} pairs: backends are ordered
 * by name before the fill, so input order does not matter, and nothing of a
 * previous table is used, so neither does history. Names are the backend's
 * identity, e.g. "10.244.1.5:8080"; ids are what the caller stores in
 * lb4_backends and are what the table holds.
 *
 * Hot path: no allocation per slot or per backend beyond the output table;
 * scratch arrays grow on demand and are reused.
 */
import { DSRLB_MAGLEV_BASE_SIZE, DSRLB_MAGLEV_DEFAULT_SIZE } from '../bpf/consts.generated.js';

/** The base size B (fillTable's worker gets its own copy of this name: FILL_SOURCE). */
const MAGLEV_BASE = DSRLB_MAGLEV_BASE_SIZE;

export interface MaglevBackend {
  /** What the table holds for this backend: its key in lb4_backends (u32). */
  readonly id: number;
  /** Stable identity that decides the backend's permutation, e.g. "10.244.1.5:8080". */
  readonly name: string;
}

/** Target slots per backend: M >= 100 N keeps every share within 1% of fair and Maglev's excess disruption small. */
export const MAGLEV_SLOTS_PER_BACKEND = 100;

/** The largest size allowed: --maglev-table-size is at most this. */
export const MAGLEV_MAX_SIZE = 1_000_003;

/**
 * The level k of a table of `size` = DSRLB_MAGLEV_BASE_SIZE x 2^k slots, or -1
 * when `size` is not such a size. Self-contained (runs in the table worker).
 */
export function maglevLevel(size: number): number {
  let m = MAGLEV_BASE;
  for (let k = 0; m <= size; k++, m *= 2) if (m === size) return k;
  return -1;
}

/** The cap --maglev-table-size stands for: the largest size B x 2^k not above it. */
export function maglevMaxLadderSize(maxSize: number): number {
  if (!Number.isSafeInteger(maxSize) || maxSize < DSRLB_MAGLEV_BASE_SIZE) {
    throw new RangeError(`maximum Maglev table size ${maxSize} is below the minimum ${DSRLB_MAGLEV_BASE_SIZE}`);
  }
  let m = DSRLB_MAGLEV_BASE_SIZE;
  while (m * 2 <= maxSize) m *= 2;
  return m;
}

/**
 * The table size for a service with `backendCount` backends: the smallest
 * B x 2^k >= 100 x backendCount (so M >= 100 N), at most the cap that maxSize
 * (--maglev-table-size) stands for. A service without backends gets the base size.
 */
export function maglevTableSize(backendCount: number, maxSize: number = DSRLB_MAGLEV_DEFAULT_SIZE): number {
  if (!Number.isSafeInteger(backendCount) || backendCount < 0) {
    throw new RangeError(`backend count must be a non-negative integer, got ${backendCount}`);
  }
  const max = maglevMaxLadderSize(maxSize);
  const wanted = backendCount * MAGLEV_SLOTS_PER_BACKEND;
  let m = DSRLB_MAGLEV_BASE_SIZE;
  while (m < wanted && m < max) m *= 2;
  return m;
}

// ---- hashing ----------------------------------------------------------------

/** murmur3's 32-bit finaliser: full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

const hashOut = new Uint32Array(2);

/**
 * Two independent 32-bit hashes of the UTF-8 bytes of `name` into hashOut:
 * FNV-1a and a second multiplicative lane with its own seed and multiplier,
 * each finished with fmix32. Stable across processes and versions: changing
 * it reshuffles every table (and so every new flow) on upgrade.
 */
function hashName(name: string): void {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  const len = name.length;
  for (let i = 0; i < len; i++) {
    let c = name.charCodeAt(i);
    if (c < 0x80) {
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < len) {
      const lo = name.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    // Non-ASCII: the same mixing over the code point's UTF-8 bytes.
    const nbytes = utf8Bytes(c);
    for (let k = 0; k < nbytes; k++) {
      const byte = utf8Scratch[k] as number;
      a = Math.imul(a ^ byte, 0x01000193);
      b = Math.imul(b ^ byte, 0x5bd1e995);
      b ^= b >>> 15;
    }
  }
  hashOut[0] = fmix32(a ^ len);
  hashOut[1] = fmix32(b ^ Math.imul(len, 0x27d4eb2f));
}

const utf8Scratch = new Uint8Array(4);
/** UTF-8 encoding of code point c (>= 0x80) into utf8Scratch; returns its length. */
function utf8Bytes(c: number): number {
  if (c < 0x800) {
    utf8Scratch[0] = 0xc0 | (c >> 6); utf8Scratch[1] = 0x80 | (c & 0x3f);
    return 2;
  }
  if (c < 0x10000) {
    utf8Scratch[0] = 0xe0 | (c >> 12); utf8Scratch[1] = 0x80 | ((c >> 6) & 0x3f); utf8Scratch[2] = 0x80 | (c & 0x3f);
    return 3;
  }
  utf8Scratch[0] = 0xf0 | (c >> 18); utf8Scratch[1] = 0x80 | ((c >> 12) & 0x3f);
  utf8Scratch[2] = 0x80 | ((c >> 6) & 0x3f); utf8Scratch[3] = 0x80 | (c & 0x3f);
  return 4;
}

/**
 * A backend's level-0 Maglev permutation of the DSRLB_MAGLEV_BASE_SIZE base
 * slots: offset + j x skip (mod B), a full cycle because B is prime. At level
 * k, the j-th base slot of it stands for its 2^k descendants in
 * descendantOrder(k).
 */
export function maglevPermutation(name: string): { offset: number; skip: number } {
  hashName(name);
  return { offset: (hashOut[0] as number) % MAGLEV_BASE, skip: ((hashOut[1] as number) % (MAGLEV_BASE - 1)) + 1 };
}

/**
 * The order in which every backend proposes the 2^k slots p + i x B that
 * descend from base slot p at level k, as offsets i x B from p: at each level
 * a slot's first child (itself) before its second (itself + M_j), so the
 * order at level k + 1 is the order at level k with each slot followed by its
 * second child, which is what makes a table at level k + 1 two copies of the
 * one at level k. That is i = bit-reversal of the position. The same for
 * every backend: two backends that propose the same slot at the same depth
 * meet again on both its children, in the same name order. Self-contained
 * (runs in the table worker).
 */
export function descendantOrder(k: number): Int32Array {
  const out = new Int32Array(2 ** k);
  for (let t = 0; t < out.length; t++) {
    let i = 0;
    for (let b = 0; b < k; b++) i |= ((t >> b) & 1) << (k - 1 - b);
    out[t] = i * MAGLEV_BASE;
  }
  return out;
}

// ---- table fill ---------------------------------------------------------------

/** u32 words of fill input per backend: the two hashes of its name, then its id. */
export const FILL_INPUT_WORDS = 3;

/** Working memory of fillTable, grown on demand; one per thread. */
export interface FillScratch {
  taken: Int32Array;
  block: Int32Array;
  skips: Int32Array;
  ids: Int32Array;
  quota: Int32Array;
  active: Int32Array;
  /** descendantOrder(level), kept for the next table of the same level. */
  order: Int32Array;
  level: number;
}

export function fillScratch(): FillScratch {
  const none = new Int32Array(0);
  return { taken: none, block: none, skips: none, ids: none, quota: none, active: none, order: none, level: -1 };
}

const scratch = fillScratch();
let input = new Uint32Array(0);

/**
 * The Maglev table of `size` slots (DSRLB_MAGLEV_BASE_SIZE x 2^k) for
 * `backends`: slot -> backend id.
 *
 * Fill order: depth-major. At depth j every backend that still has quota
 * proposes the j-th slot of its preference list (see the file's comment) and
 * takes it when free; within a depth, backends go in name order. Quotas are
 * floor(M/N) or ceil(M/N) (the first M mod N backends by name get one more),
 * so shares are exact. This is the stable assignment of slots to backends
 * under Maglev's preferences (a slot goes to whichever backend ranks it
 * earliest, unless that backend is full). The paper's fill differs in one
 * respect: there a backend on its turn searches ahead in its permutation for
 * a free slot, which lets one change to the backend set shift every later
 * turn; depth-major claims move about half as many slots besides the changed
 * backend's own.
 *
 * Throws on an empty backend set, duplicate names, ids that are not u32, or a
 * size that is not B x 2^k. `out`, when given, must have `size` elements and
 * is overwritten (lets a caller reuse a buffer).
 */
export function maglevTable(backends: readonly MaglevBackend[], size: number, out?: Uint32Array): Uint32Array {
  return maglevTableOf(backends, backends.map((b) => b.id), size, out);
}

/**
 * maglevTable with the ids apart from the names: backend i is `names[i].name`
 * with id `ids[i]` (saves building {name, id} objects for every table).
 */
export function maglevTableOf(names: readonly { readonly name: string }[], backendIds: ArrayLike<number>, size: number,
  out?: Uint32Array): Uint32Array {
  const n = names.length;
  if (n === 0) throw new RangeError('a Maglev table needs at least one backend');
  if (out && out.length !== size) throw new RangeError(`output table has ${out.length} slots, expected ${size}`);
  if (input.length < n * FILL_INPUT_WORDS) input = new Uint32Array(Math.max(n, input.length / FILL_INPUT_WORDS * 2) * FILL_INPUT_WORDS);
  writeFillInput(names, backendIds, input, 0);
  const table = out ?? new Uint32Array(size);
  fillTable(table, size, n, input, 0, scratch);
  return table;
}

/**
 * What fillTable reads of a table's backends, written from `at` in `out`:
 * FILL_INPUT_WORDS per backend, in name order. Throws on duplicate names and
 * ids that are not u32.
 */
export function writeFillInput(names: readonly { readonly name: string }[], backendIds: ArrayLike<number>, out: Uint32Array, at: number): void {
  const n = names.length;
  if (backendIds.length !== n) throw new RangeError(`${n} backends but ${backendIds.length} ids`);
  const order = sortedOrder(names);
  let prev: string | undefined;
  for (let i = 0; i < n; i++) {
    const k = order[i] as number;
    const name = (names[k] as { name: string }).name;
    if (name === prev) throw new RangeError(`duplicate Maglev backend name '${name}'`);
    prev = name;
    const id = backendIds[k] as number;
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new RangeError(`backend id ${id} is not a u32`);
    hashName(name);
    const o = at + i * FILL_INPUT_WORDS;
    out[o] = hashOut[0] as number;
    out[o + 1] = hashOut[1] as number;
    out[o + 2] = id;
  }
}

/**
 * Fills `table` (its first `size` slots) for the `n` backends whose fill
 * input starts at `at` in `input` (writeFillInput). Throws on an empty backend
 * set or a size that is not B x 2^k.
 *
 * Self-contained: it uses only its arguments, MAGLEV_BASE and the functions of
 * FILL_SOURCE, so the table builder's worker thread runs this very function.
 * No allocation per slot or per backend: the scratch arrays grow on demand
 * and are reused.
 */
export function fillTable(table: Uint32Array, size: number, n: number, input: Uint32Array, at: number, s: FillScratch): void {
  if (n < 1) throw new RangeError('a Maglev table needs at least one backend');
  const level = maglevLevel(size);
  if (level < 0) throw new RangeError(`Maglev table size must be ${MAGLEV_BASE} x 2^k, got ${size}`);
  if (s.level !== level) {
    s.order = descendantOrder(level);
    s.level = level;
  }
  if (s.taken.length < size) s.taken = new Int32Array(size);
  if (s.block.length < n) {
    const cap = Math.max(n, s.block.length * 2);
    s.block = new Int32Array(cap);
    s.skips = new Int32Array(cap);
    s.ids = new Int32Array(cap);
    s.quota = new Int32Array(cap);
    s.active = new Int32Array(cap);
  }
  const base = Math.floor(size / n);
  const extra = size - base * n;
  for (let i = 0; i < n; i++) {
    const o = at + i * 3; // FILL_INPUT_WORDS (a literal: this function runs as source elsewhere)
    s.block[i] = (input[o] as number) % MAGLEV_BASE;
    s.skips[i] = ((input[o + 1] as number) % (MAGLEV_BASE - 1)) + 1;
    s.ids[i] = (input[o + 2] as number) | 0;
    s.quota[i] = i < extra ? base + 1 : base;
    s.active[i] = i;
  }
  s.taken.fill(0, 0, size);
  table.fill(0, 0, size);
  // Signed view of the same memory: keeps the hot loop in int32 arithmetic.
  fill(new Int32Array(table.buffer, table.byteOffset, size), size, n, s);
}

/** Indexes of `names` in name order (already sorted input, the common case, costs one pass). */
function sortedOrder(names: readonly { readonly name: string }[]): number[] {
  const n = names.length;
  const order = new Array<number>(n);
  let sorted = true;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    if (i > 0 && (names[i - 1] as { name: string }).name > (names[i] as { name: string }).name) sorted = false;
  }
  if (!sorted) {
    order.sort((a, b) => {
      const x = (names[a] as { name: string }).name;
      const y = (names[b] as { name: string }).name;
      return x < y ? -1 : x > y ? 1 : 0;
    });
  }
  return order;
}

/**
 * The depth-major fill proper. Every live backend proposes once per depth,
 * so all are at the same place in their blocks of descendants: the depth's
 * offset in descendantOrder is one for all, and after the last one every
 * backend moves to its next base slot (offset + skip, mod B). Branch-free per
 * proposal (a mispredicted "is this slot free?" branch per proposal used to
 * cost more than the rest of the work); scratch arrays are locals in the loop.
 * `table` must be zeroed: each slot is written exactly once with a non-zero
 * mask and OR-ed with zero otherwise.
 */
function fill(table: Int32Array, size: number, n: number, s: FillScratch): void {
  const used = s.taken;
  const block = s.block;
  const step = s.skips;
  const idOf = s.ids;
  const left = s.quota;
  const live = s.active;
  const order = s.order;
  const last = order.length - 1;
  let filled = 0;
  let alive = n;
  for (let w = 0; ; w = w === last ? 0 : w + 1) {
    const offset = order[w] as number;
    const advance = w === last ? -1 : 0; // all ones: every backend moves on to its next base slot
    let saturated = 0;
    for (let k = 0; k < alive; k++) {
      const i = live[k] as number;
      const b = block[i] as number;
      const c = b + offset;
      const nb = b + ((step[i] as number) & advance);
      block[i] = nb - (MAGLEV_BASE & ((MAGLEV_BASE - 1 - nb) >> 31)); // nb >= B ? nb - B : nb
      const free = 1 - (used[c] as number); // 1 when the slot is ours now
      used[c] = 1;
      table[c] = (table[c] as number) | ((idOf[i] as number) & -free);
      filled += free;
      const q = (left[i] as number) - free;
      left[i] = q;
      saturated |= q === 0 ? 1 : 0;
    }
    if (filled === size) return;
    if (saturated !== 0) {
      let kept = 0;
      for (let k = 0; k < alive; k++) {
        const i = live[k] as number;
        if ((left[i] as number) > 0) live[kept++] = i;
      }
      alive = kept;
    }
  }
}

/**
 * fillTable, what it calls and fillScratch, as source text: what the table
 * builder's worker thread evaluates (maglev-builder.ts), so both threads run
 * the same code whether this module was compiled or transpiled on load.
 */
export const FILL_SOURCE = [`const MAGLEV_BASE = ${DSRLB_MAGLEV_BASE_SIZE};`,
  ...[maglevLevel, descendantOrder, fill, fillTable, fillScratch].map(String)].join('\n');
