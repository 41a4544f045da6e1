/**
 * Upgrades across map layouts (docs/agent.md): maps are pinned under
 * `<bpffs-root>/v<layout id>`, so a build whose maps differ gets its own
 * directory next to the running one's. Before load, every map whose layout
 * is unchanged is pinned into the new directory too (libbpf then adopts it:
 * the same kernel map, live state shared, nothing copied). After load, the
 * maps that changed are filled from the old ones, entry by entry, translated
 * by BTF member names (src/bpf/layout.ts), so service, backend and revnat ids
 * and generations stay and flows recorded against them stay valid. The
 * agent's first sync then corrects the plan maps; right before the programs
 * are replaced the datapath's LRU tables are copied again, right after it what
 * the old programs wrote in between (the socket LB's cgroup links are updated
 * to the new programs in between too), and only then the old pins go: the
 * links under `<bpffs-root>/links` are no layout's and stay.
 */
import { existsSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import {
  BpfMap, bytes, currentOf, isLayoutDirName, isPerCpu, MapType, native, pinnedMapLayout, sameMapLayout, scalar, translation, UpdateFlags,
  type BuildLayout, type MapLayout, type Translation,
} from '../bpf/index.js';
import { MapSpecs } from '../bpf/map-specs.js';
import { TERMINATING_MAP } from './terminating-store.js';

/**
 * Never shared: the agent writes `config` at attach (then it marks the maps as
 * holding a plan). It is copied like a changed map instead, for its local
 * epoch: reverse-NAT entries in shared tables are stamped with it.
 */
const NEVER_SHARED = new Set(['config']);
/** Written by the datapath, per packet: copied again around the swap. */
const DATAPATH_TABLES = new Set<number>([MapType.LRU_HASH]);
const BATCH = 4096;
/** Inner maps held open at once while a map of maps is copied. */
const FD_BATCH = 1024;
/** Kernel map name of the empty Maglev table (bpf/lib/maps.h). */
const EMPTY_TABLE = MapSpecs.maglevNone.name;
/**
 * Per-socket storage (lb4_sock_peer) has no keys userspace can walk: shared
 * when unchanged, else the new map starts empty and getpeername() on a socket
 * connected before the upgrade shows the backend instead of the service.
 */
const SK_STORAGE_NOT_CARRIED = 'per-socket storage cannot be read from userspace: starts empty (sockets connected before show the backend to getpeername)';

export type Carried = 'shared' | 'copied' | 'translated' | 'not carried';

export interface CarryReport {
  readonly map: string;
  readonly how: Carried;
  readonly entries?: number;
  readonly zeroed?: readonly string[];
  readonly dropped?: readonly string[];
  readonly why?: string;
}

interface Plan { readonly map: MapLayout; readonly key: Translation; readonly value: Translation }

function rawMap(fd: number, m: { keySize: number; valueSize: number }, name: string): BpfMap<Buffer, Buffer> {
  return new BpfMap(fd, scalar(bytes(m.keySize)), scalar(bytes(m.valueSize)), false, name);
}

/** Writes {key, inner map id} entries into the map of maps `toFd` as fds, in one batch; returns how many. */
function copyInnerMaps(toFd: number, entries: readonly (readonly [Buffer, Buffer])[], flags: number): number {
  const fds: number[] = [];
  try {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (const [k, v] of entries) {
      const inner = native().mapFdById(v.readUInt32LE(0));
      fds.push(inner);
      if (native().mapInfo(inner).name === EMPTY_TABLE) continue;
      const fdValue = Buffer.alloc(4);
      fdValue.writeUInt32LE(inner, 0);
      keys.push(k);
      values.push(fdValue);
    }
    if (keys.length > 0) native().mapUpdateBatch(toFd, Buffer.concat(keys), Buffer.concat(values), keys.length, flags);
    return keys.length;
  } finally {
    for (const fd of fds) native().closeFd(fd);
  }
}

/** Every entry of `from` translated into `to`; returns how many were written. */
function copyEntries(fromPath: string, toPath: string, plan: Plan, old: MapLayout, flags: number): number {
  const fromFd = native().objGet(fromPath);
  const toFd = native().objGet(toPath);
  try {
    const from = rawMap(fromFd, old, old.name);
    const to = rawMap(toFd, plan.map, plan.map.name);
    const mapInMap = plan.map.type === MapType.HASH_OF_MAPS || plan.map.type === MapType.ARRAY_OF_MAPS;
    const batch: [Buffer, Buffer][] = [];
    let written = 0;
    const flush = (): void => {
      if (flags === UpdateFlags.NOEXIST) {
        // A batch stops at the first key the new programs already wrote: those stay, one by one.
        for (const [k, v] of batch) {
          try { to.updateRaw(k, v, flags); written++; } catch { /* the new datapath's own entry wins */ }
        }
      } else {
        to.updateBatch(batch, flags);
        written += batch.length;
      }
      batch.length = 0;
    };
    from.scanRaw((keys, ko, values, vo) => {
      const k = Buffer.alloc(plan.map.keySize);
      plan.key.apply(keys, ko, k, 0);
      const array = plan.map.type === MapType.ARRAY || plan.map.type === MapType.ARRAY_OF_MAPS;
      if (array && k.readUInt32LE(0) >= plan.map.maxEntries) return;
      const v = Buffer.alloc(plan.map.valueSize);
      plan.value.apply(values, vo, v, 0);
      batch.push([k, v]);
      // Map-in-map entries are all written at the end, as fds.
      if (!mapInMap && batch.length >= BATCH) flush();
    });
    if (!mapInMap) {
      flush();
      return written;
    }
    // Map-in-map values read as inner map ids and are written as fds: the inner maps themselves are
    // shared. A batch at a time (each write of a map of maps waits for an RCU grace period), with
    // a bounded number of fds open. A slot pointing at lb4_maglev_none (a table taken out) is left
    // empty, which means the same.
    for (let at = 0; at < batch.length; at += FD_BATCH) written += copyInnerMaps(toFd, batch.slice(at, at + FD_BATCH), flags);
    return written;
  } finally {
    native().closeFd(fromFd);
    native().closeFd(toFd);
  }
}

export class LayoutUpgrade {
  private readonly plans = new Map<string, { plan: Plan; old: MapLayout }>();
  private readonly reports: CarryReport[] = [];

  private constructor(
    private readonly from: string,
    private readonly others: readonly string[],
    private readonly mine: string,
    private readonly layout: BuildLayout,
    private readonly log: Logger,
  ) {}

  /**
   * When `root` holds another layout's maps: pins each map whose layout is
   * unchanged into `mine` (before load, so libbpf adopts it). Undefined when
   * there is nothing to upgrade from.
   */
  static prepare(dirs: readonly string[], mine: string, layout: BuildLayout, log: Logger): LayoutUpgrade | undefined {
    const others = dirs.filter((d) => d !== mine);
    const from = currentOf(others);
    if (!from) return undefined;
    const u = new LayoutUpgrade(from, others, mine, layout, log);
    u.shareUnchanged();
    return u;
  }

  private shareUnchanged(): void {
    for (const m of this.layout.maps) {
      const oldPath = join(this.from, m.name);
      if (NEVER_SHARED.has(m.name) || !existsSync(oldPath) || existsSync(join(this.mine, m.name))) continue;
      const old = pinnedMapLayout(oldPath, m.name);
      // A map-in-map's inner template is not readable from the kernel: its values are carried instead.
      if (m.inner === null && sameMapLayout(old, m)) {
        this.pin(oldPath, m.name);
        this.reports.push({ map: m.name, how: 'shared' });
      }
    }
    // The agent's own map (no program reads it; both builds' agents define it alike when its sizes agree).
    const terminating = join(this.from, TERMINATING_MAP);
    if (existsSync(terminating) && !existsSync(join(this.mine, TERMINATING_MAP))) {
      this.pin(terminating, TERMINATING_MAP);
      this.reports.push({ map: TERMINATING_MAP, how: 'shared' });
    }
  }

  private pin(oldPath: string, name: string): void {
    const fd = native().objGet(oldPath);
    try {
      native().objPin(fd, join(this.mine, name));
    } finally {
      native().closeFd(fd);
    }
  }

  /** After load: fills every map of `mine` that is not shared from the old one; returns what was carried. */
  carry(): readonly CarryReport[] {
    const shared = new Set(this.reports.map((r) => r.map));
    for (const m of this.layout.maps) {
      if (shared.has(m.name)) continue;
      const oldPath = join(this.from, m.name);
      if (!existsSync(oldPath)) {
        this.reports.push({ map: m.name, how: 'not carried', why: 'new in this layout' });
        continue;
      }
      const old = pinnedMapLayout(oldPath, m.name);
      const why = isPerCpu(m.type) ? 'per-CPU (counters, caches): starts empty'
        : old.type !== m.type ? 'its map type changed'
          : m.type === MapType.SK_STORAGE ? SK_STORAGE_NOT_CARRIED
            : m.type === MapType.RINGBUF ? 'a ring buffer (monitor events): starts empty' : undefined;
      const key = why ? undefined : translation(old.key, m.key, old.keySize, m.keySize);
      const value = why || !key ? undefined : translation(old.value, m.value, old.valueSize, m.valueSize);
      if (!key || !value) {
        this.reports.push({ map: m.name, how: 'not carried', why: why ?? `its ${key ? 'value' : 'key'} cannot be translated` });
        continue;
      }
      const plan = { map: m, key, value };
      const entries = copyEntries(oldPath, join(this.mine, m.name), plan, old, UpdateFlags.ANY);
      this.plans.set(m.name, { plan, old });
      const identical = key.identical && value.identical;
      this.reports.push({
        map: m.name, how: identical ? 'copied' : 'translated', entries,
        ...(identical ? {} : { zeroed: [...key.zeroed, ...value.zeroed], dropped: [...key.dropped, ...value.dropped] }),
      });
    }
    for (const r of this.reports) this.log.info({ map: r.map, how: r.how, entries: r.entries, zeroed: r.zeroed, dropped: r.dropped, why: r.why }, `upgrade: ${r.map} ${r.how}`);
    return this.reports;
  }

  /** Right before the programs are replaced: the datapath's tables again, as they are now. */
  beforeSwap(): void {
    this.copyTables(UpdateFlags.ANY);
  }

  /**
   * Right after: what the old programs wrote since (entries the new ones
   * wrote meanwhile win), then every other layout's pins are removed.
   */
  afterSwap(): string[] {
    this.copyTables(UpdateFlags.NOEXIST);
    for (const dir of this.others) removeLayout(dir);
    this.log.info({ from: this.from, to: this.mine, removed: this.others }, 'upgrade: programs replaced; the old layout\'s pins are removed');
    return [...this.others];
  }

  private copyTables(flags: number): void {
    for (const [name, { plan, old }] of this.plans) {
      if (!DATAPATH_TABLES.has(plan.map.type)) continue;
      try {
        copyEntries(join(this.from, name), join(this.mine, name), plan, old, flags);
      } catch (e) {
        this.log.warn({ err: e, map: name }, 'upgrade: copying the datapath table again failed; its entries from the first copy stay');
      }
    }
  }
}

/** Removes a layout's pins: a `v<id>` directory whole, an unversioned root's pinned files only (its layout dirs and lock stay). */
export function removeLayout(dir: string): void {
  if (isLayoutDirName(basename(dir))) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (!statSync(p).isDirectory()) unlinkSync(p);
  }
}
