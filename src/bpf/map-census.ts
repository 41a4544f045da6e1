/**
 * Every map pinned under a bpffs root and its `v<id>` layout directories,
 * as the kernel describes it (type, sizes, memory) with the entries it
 * holds: what `lbctl bpf list` prints. Reads only; needs no codec, so maps
 * of any layout (an older agent's, a newer one's) are counted alike.
 */
import { readdirSync, type Dirent } from 'node:fs';
import { dirname, join } from 'node:path';
import { isLiveBackendRaw } from './backend-slots.js';
import { currentOf, isLayoutDirName, layoutDirs } from './layout-read.js';
import { mapMemlock, nonZeroBytes, perCpuStride } from './map.js';
import { MapSpecs } from './map-specs.js';
import { isPerCpu, MapType, MapTypeName } from './map-types.js';
import { native, type NativeMapInfo } from './native.js';

export interface PinnedMapSummary {
  readonly name: string;
  readonly path: string;
  /** The `v<id>` layout directory holding the pin; null for a pin directly under the root. */
  readonly layout: string | null;
  /** The pin is in the layout the attached programs use (else the newest): the one `lbctl bpf lb list` reads. */
  readonly current: boolean;
  readonly id: number;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Entries held (arrays: slots in use); null where the kernel offers no way to count (socket storage). */
  readonly entries: number | null;
  /** The kernel's memlock figure for the map, in bytes. */
  readonly memoryBytes: number;
}

const BATCH = 4096;

/** Slots of lb4_backends are in use while live (a freed slot keeps its generation, so it is not all zero). */
const SLOT_IN_USE: Readonly<Record<string, (values: Buffer, vo: number, size: number) => boolean>> = {
  lb4_backends: (values, vo) => isLiveBackendRaw(values, vo),
};


/** Hash and LRU maps: every entry; arrays: the slots in use. Batched, 4,096 entries a syscall. */
function countBatched(fd: number, name: string, info: NativeMapInfo): number {
  const valueSize = isPerCpu(info.type) ? perCpuStride(info.valueSize) * native().numPossibleCpus() : info.valueSize;
  const array = info.type === MapType.ARRAY || info.type === MapType.PERCPU_ARRAY;
  const inUse = SLOT_IN_USE[name] ?? nonZeroBytes;
  let n = 0;
  let token: Buffer | null = null;
  for (;;) {
    const b = native().mapLookupBatch(fd, token, info.keySize, valueSize, BATCH);
    if (!array) n += b.count;
    else for (let i = 0; i < b.count; i++) if (inUse(b.values, i * valueSize, valueSize)) n++;
    if (b.done) return n;
    token = b.token;
  }
}

/**
 * Maps without batch operations (LPM tries, maps of maps): key by key. An
 * array of maps has every key; a slot is in use when it holds a map other
 * than `emptyId` (lb4_maglev_none: a Maglev table taken out).
 */
function countByKey(fd: number, info: NativeMapInfo, emptyId: number | undefined): number {
  const slots = info.type === MapType.ARRAY_OF_MAPS;
  let n = 0;
  let key: Buffer | null = null;
  for (;;) {
    const next: Buffer | null = native().mapNextKey(fd, key, info.keySize);
    if (!next) return n;
    const inner = slots ? native().mapLookup(fd, next, 4) : null;
    if (!slots || (inner && inner.readUInt32LE(0) !== emptyId)) n++;
    key = next;
  }
}

const BATCHED = new Set<number>([MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH, MapType.ARRAY, MapType.PERCPU_ARRAY]);
const BY_KEY = new Set<number>([MapType.LPM_TRIE, MapType.HASH_OF_MAPS, MapType.ARRAY_OF_MAPS]);

function countEntries(fd: number, name: string, info: NativeMapInfo, dir: string): number | null {
  if (BATCHED.has(info.type)) return countBatched(fd, name, info);
  if (BY_KEY.has(info.type)) return countByKey(fd, info, emptyTableId(dir));
  return null;
}

/** The id of the lb4_maglev_none pinned in `dir`, if any. */
function emptyTableId(dir: string): number | undefined {
  const fd = orUndefined(() => native().objGet(join(dir, MapSpecs.maglevNone.name)));
  if (fd === undefined) return undefined;
  try {
    return native().mapInfo(fd).id;
  } finally {
    native().closeFd(fd);
  }
}

/** `fn`'s value, or undefined when it throws (a pin that is not a map, a directory that is gone). */
function orUndefined<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

/** The map pinned at `path`, or undefined when the pin is no map (a link, a program). */
function summarize(path: string, name: string, layout: string | null, current: boolean): PinnedMapSummary | undefined {
  const fd = orUndefined(() => native().objGet(path));
  if (fd === undefined) return undefined;
  try {
    const info = orUndefined(() => native().mapInfo(fd));
    if (!info) return undefined;
    return {
      name, path, layout, current, id: info.id, type: MapTypeName[info.type] ?? `type ${info.type}`,
      keySize: info.keySize, valueSize: info.valueSize, maxEntries: info.maxEntries,
      entries: countEntries(fd, name, info, dirname(path)), memoryBytes: mapMemlock(fd),
    };
  } finally {
    native().closeFd(fd);
  }
}

/** Names in `dir` that `keep` accepts, sorted; none when it does not exist. */
function names(dir: string, keep: (e: Dirent) => boolean): string[] {
  return (orUndefined(() => readdirSync(dir, { withFileTypes: true })) ?? []).filter(keep).map((e) => e.name).sort();
}

/**
 * Every map pinned in `root` itself and in each of its layout directories:
 * the current layout's first, then the root's own pins, then older or newer
 * layouts (an upgrade in progress, or left behind).
 */
export function pinnedMaps(root: string): PinnedMapSummary[] {
  const current = currentOf(layoutDirs(root));
  const layouts = names(root, (e) => e.isDirectory() && isLayoutDirName(e.name));
  const dirs: { dir: string; layout: string | null }[] = [
    { dir: root, layout: null },
    ...layouts.map((l) => ({ dir: join(root, l), layout: l })),
  ];
  const out = dirs.flatMap(({ dir, layout }) => names(dir, (e) => e.isFile()).flatMap((name) => summarize(join(dir, name), name, layout, dir === current) ?? []));
  const rank = (m: PinnedMapSummary): number => (m.current ? 0 : m.layout === null ? 1 : 2);
  return out.sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path));
}
