/**
 * Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable
 * Software Network Load Balancer", NSDI 2016, §3.4): the lookup table the
 * datapath indexes with `flow hash % M` to pick a backend for a new flow.
 *
 * Each backend gets a permutation of the M slots from two hashes of its stable
 * name: offset = h1 % M, skip = h2 % (M - 1) + 1, permutation[j] = (offset +
 * j * skip) % M (a full cycle because M is prime). Backends then claim slots
 * in the order of their permutations, depth-major (see maglevTable), each up
 * to its quota of floor(M/N) or ceil(M/N) slots: shares are exact, and a
 * change to the backend set moves few slots besides those of the backends
 * added or removed.
 *
 * The table depends only on the set of {name, id} pairs: backends are ordered
 * by name before the fill, so input order does not matter. Names are the
 * backend's identity, e.g. "10.244.1.5:8080"; ids are what the caller stores
 * in lb4_backends and are what the table holds.
 *
 * Hot path: no allocation per slot or per backend beyond the output table;
 * scratch arrays grow on demand and are reused.
 */
import { DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_MAGLEV_MIN_SIZE } from '../bpf/consts.generated.js';
import { isPrime, primeAtLeast, primeAtMost } from './primes.js';

export interface MaglevBackend {
  /** What the table holds for this backend: its key in lb4_backends (u32). */
  readonly id: number;
  /** Stable identity that decides the backend's permutation, e.g. "10.244.1.5:8080". */
  readonly name: string;
}

/** Target slots per backend: M >= 100 N keeps every share within 1% of fair. */
export const MAGLEV_SLOTS_PER_BACKEND = 100;

/**
 * Table sizes come from a ladder: the smallest prime >= DSRLB_MAGLEV_MIN_SIZE
 * x 2^k. A size change reshuffles the whole table (every slot's backend is
 * recomputed for the new M), so sizes must not follow every change of the
 * backend count: on the ladder a service keeps its M while its backends stay
 * within a doubling, and Maglev's minimal disruption holds for those changes.
 */
function ladderStep(k: number): number {
  return primeAtLeast(DSRLB_MAGLEV_MIN_SIZE * 2 ** k);
}

/**
 * The table size for a service with `backendCount` backends: the smallest
 * ladder size >= 100 x backendCount (so M >= 100 N and each share stays
 * within 1% of fair), clamped to maxSize (--maglev-table-size; when it is not
 * prime, the largest prime below it). A service without backends gets the minimum.
 */
export function maglevTableSize(backendCount: number, maxSize: number = DSRLB_MAGLEV_DEFAULT_SIZE): number {
  if (!Number.isSafeInteger(backendCount) || backendCount < 0) {
    throw new RangeError(`backend count must be a non-negative integer, got ${backendCount}`);
  }
  const max = primeAtMost(maxSize);
  if (max === undefined || max < DSRLB_MAGLEV_MIN_SIZE) {
    throw new RangeError(`maximum Maglev table size ${maxSize} is below the minimum ${DSRLB_MAGLEV_MIN_SIZE}`);
  }
  const wanted = backendCount * MAGLEV_SLOTS_PER_BACKEND;
  for (let k = 0; ; k++) {
    const m = ladderStep(k);
    if (m >= max) return max;
    if (m >= wanted) return m;
  }
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

/** A backend's place in a table of `size` slots: its first preferred slot and its stride. */
export function maglevPermutation(name: string, size: number): { offset: number; skip: number } {
  hashName(name);
  return { offset: (hashOut[0] as number) % size, skip: ((hashOut[1] as number) % (size - 1)) + 1 };
}

// ---- table fill ---------------------------------------------------------------

/** u32 words of fill input per backend: the two hashes of its name, then its id. */
export const FILL_INPUT_WORDS = 3;

/** Working memory of fillTable, grown on demand; one per thread. */
export interface FillScratch {
  taken: Int32Array;
  pos: Int32Array;
  skips: Int32Array;
  ids: Int32Array;
  quota: Int32Array;
  active: Int32Array;
}

export function fillScratch(): FillScratch {
  const none = new Int32Array(0);
  return { taken: none, pos: none, skips: none, ids: none, quota: none, active: none };
}

const scratch = fillScratch();
let input = new Uint32Array(0);

/**
 * The Maglev table of `size` slots (prime) for `backends`: slot -> backend id.
 *
 * Fill order: depth-major. At depth j every backend that still has quota
 * proposes the j-th slot of its permutation and takes it when free; within a
 * depth, backends go in name order. Quotas are floor(M/N) or ceil(M/N) (the
 * first M mod N backends by name get one more), so shares are exact. This is
 * the stable assignment of slots to backends under Maglev's preferences (a
 * slot goes to whichever backend ranks it earliest, unless that backend is
 * full). The paper's fill differs in one respect: there a backend on its turn
 * searches ahead in its permutation for a free slot, which lets one change to
 * the backend set shift every later turn; depth-major claims move about half
 * as many slots besides the changed backend's own (test/unit/maglev.test.ts
 * measures both).
 *
 * Throws on an empty backend set, duplicate names, ids that are not u32, or a
 * size that is not prime. `out`, when given, must have `size` elements and is
 * overwritten (lets a caller reuse a buffer).
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
 * set or a size that is not prime (the fill would never end).
 *
 * Self-contained: it uses only its arguments, isPrime and fill, so the table
 * builder's worker thread runs this very function from FILL_SOURCE. No
 * allocation per slot or per backend: the scratch arrays grow on demand and
 * are reused.
 */
export function fillTable(table: Uint32Array, size: number, n: number, input: Uint32Array, at: number, s: FillScratch): void {
  if (n < 1) throw new RangeError('a Maglev table needs at least one backend');
  if (!isPrime(size)) throw new RangeError(`Maglev table size must be a prime >= 2, got ${size}`);
  if (s.taken.length < size) s.taken = new Int32Array(size);
  if (s.pos.length < n) {
    const cap = Math.max(n, s.pos.length * 2);
    s.pos = new Int32Array(cap);
    s.skips = new Int32Array(cap);
    s.ids = new Int32Array(cap);
    s.quota = new Int32Array(cap);
    s.active = new Int32Array(cap);
  }
  const base = Math.floor(size / n);
  const extra = size - base * n;
  for (let i = 0; i < n; i++) {
    const o = at + i * 3; // FILL_INPUT_WORDS (a literal: this function runs as source elsewhere)
    s.pos[i] = (input[o] as number) % size;
    s.skips[i] = ((input[o + 1] as number) % (size - 1)) + 1;
    s.ids[i] = (input[o + 2] as number) | 0;
    s.quota[i] = i < extra ? base + 1 : base;
    s.active[i] = i;
  }
  s.taken.fill(0, 0, size);
  table.fill(0, 0, size);
  // Signed view of the same memory: keeps the hot loop in int32 arithmetic.
  fill(new Int32Array(table.buffer, table.byteOffset, size), size, n, s.taken, s.pos, s.skips, s.ids, s.quota, s.active);
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
 * The depth-major fill proper. Branch-free per proposal (a mispredicted
 * "is this slot free?" branch per proposal used to cost more than the rest of
 * the work); scratch arrays are parameters so they are locals in the loop.
 * `table` must be zeroed: each slot is written exactly once with a non-zero
 * mask and OR-ed with zero otherwise. (Settling the last free slots by
 * computing each backend's distance to them instead of probing was measured:
 * 4% faster, not worth its code.)
 */
function fill(table: Int32Array, size: number, n: number, used: Int32Array, next: Int32Array,
  step: Int32Array, idOf: Int32Array, left: Int32Array, live: Int32Array): void {
  let filled = 0;
  let alive = n;
  for (;;) {
    let saturated = 0;
    for (let k = 0; k < alive; k++) {
      const i = live[k] as number;
      const c = next[i] as number;
      const nc = c + (step[i] as number);
      next[i] = nc - (size & ((size - 1 - nc) >> 31)); // nc >= size ? nc - size : nc
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
      let w = 0;
      for (let k = 0; k < alive; k++) {
        const i = live[k] as number;
        if ((left[i] as number) > 0) live[w++] = i;
      }
      alive = w;
    }
  }
}

/**
 * fillTable, what it calls and fillScratch, as source text: what the table
 * builder's worker thread evaluates (maglev-builder.ts), so both threads run
 * the same code whether this module was compiled or transpiled on load.
 */
export const FILL_SOURCE = [isPrime, fill, fillTable, fillScratch].map(String).join('\n');
