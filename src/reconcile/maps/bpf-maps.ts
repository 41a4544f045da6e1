/**
 * LbMaps over the pinned kernel maps (src/bpf): what the agent uses. The big
 * service maps are batch-written without a Buffer per entry
 * (batch-writes.ts), Maglev tables go through prebuilt buffers
 * (maglev-maps.ts), and lb4_maglev is only ever written in batches (an RCU
 * grace period per write).
 */
import { scanBackends } from '../../bpf/backend-slots.js';
import { FREE_REVNAT, isLiveRevnat, type Lb4Backend, type Lb4Frontend } from '../../bpf/codecs/services.js';
import type { BpfMap } from '../../bpf/map.js';
import { maglevSlots, MapSpecs, openPinned, type MapSpec } from '../../bpf/map-specs.js';
import { writeBackendBatch, writeRevnatBatch, writeServiceBatch } from './batch-writes.js';
import {
  closeFd, createInnerTable, innerTableElements, openInnerTable, readInnerTable, updateOuterBatch, writeInnerElements,
} from './maglev-maps.js';
import type { TableBuffer } from '../table-buffer.js';
import type { InnerTable, LbMap, LbMaps, MaglevMaps, SlotMap, SlotScan } from './lb-maps.js';
import { SparseArray } from './sparse-array.js';

class KernelMap<K, V> implements LbMap<K, V> {
  readonly maxEntries: number;
  constructor(readonly map: BpfMap<K, V>, private readonly batch?: (m: BpfMap<K, V>, e: readonly (readonly [K, V])[]) => void) {
    this.maxEntries = map.info().maxEntries;
  }

  get name(): string { return this.map.name; }
  lookup(key: K): V | undefined { return this.map.lookup(key); }
  update(key: K, value: V): void { this.map.update(key, value); }
  delete(key: K): boolean { return this.map.delete(key); }
  updateBatch(entries: readonly (readonly [K, V])[]): void {
    if (this.batch) this.batch(this.map, entries);
    else this.map.updateBatch(entries);
  }
  deleteBatch(keys: readonly K[]): number { return this.map.deleteBatch(keys); }
  entries(): [K, V][] { return this.map.entries(); }
  keys(): K[] { return [...this.map.keys()]; }
}

class KernelSlots<V> extends KernelMap<number, V> implements SlotMap<V> {
  constructor(map: BpfMap<number, V>, private readonly scanner: (m: BpfMap<number, V>) => SlotScan<V>,
    batch?: (m: BpfMap<number, V>, e: readonly (readonly [number, V])[]) => void) {
    super(map, batch);
  }

  scan(): SlotScan<V> { return this.scanner(this.map); }
}

function scanFrontends(map: BpfMap<number, Lb4Frontend>): SlotScan<Lb4Frontend> {
  const live: [number, Lb4Frontend][] = [];
  let newestGeneration = 0;
  map.scanRaw((keys, ko, values, vo) => {
    const slot = map.value.decode(values, vo);
    if (slot.generation > newestGeneration) newestGeneration = slot.generation;
    if (slot.serviceId !== 0) live.push([keys.readUInt32LE(ko), slot]);
  });
  return { live, newestGeneration };
}

/**
 * lb4_maglev and lb4_maglev_prev are arrays of maps: a slot without a table
 * holds no map or lb4_maglev_none (`none`), which is how tables are taken
 * out, many to a batch: an array of maps has no batch delete, and a single
 * delete waits for an RCU grace period. lb4_maglev_prev_size is an array: 0
 * is no size.
 */
class KernelMaglev implements MaglevMaps {
  private readonly noneId: number;
  readonly maxEntries: number;

  constructor(private readonly outer: BpfMap<number, number>, private readonly prev: BpfMap<number, number>,
    private readonly prevSize: BpfMap<number, number>, private readonly none: BpfMap<number, unknown>) {
    this.noneId = none.info().id;
    this.maxEntries = outer.info().maxEntries;
  }

  get name(): string { return this.outer.name; }
  private tables(outer: BpfMap<number, number>): [number, number][] { return maglevSlots(outer, this.noneId); }
  keys(): number[] { return this.tables(this.outer).map(([sid]) => sid); }
  lookup(serviceId: number): number | undefined {
    const innerId = this.outer.lookup(serviceId);
    return innerId === this.noneId ? undefined : innerId;
  }
  create(serviceId: number, table: TableBuffer, capacity: number): InnerTable { return createInnerTable(serviceId, table, capacity); }
  open(serviceId: number, innerId: number): InnerTable { return openInnerTable(serviceId, innerId); }
  capacity(serviceId: number, t: InnerTable): number { return innerTableElements(serviceId, t); }
  read(serviceId: number, t: InnerTable, size: number): TableBuffer { return readInnerTable(serviceId, t, size); }
  write(serviceId: number, t: InnerTable, table: TableBuffer, elements: readonly number[]): void {
    writeInnerElements(serviceId, t, table, elements);
  }
  close(t: InnerTable): void { closeFd(t); }
  swap(entries: readonly (readonly [number, InnerTable])[]): void { updateOuterBatch(this.outer, entries); }
  delete(serviceIds: readonly number[]): void { this.takeOut(this.outer, serviceIds); }
  prevEntries(): [number, { innerId: number; size: number }][] {
    const sizes = new Map(this.prevSize.entries().filter(([, size]) => size !== 0));
    return this.tables(this.prev).map(([sid, innerId]) => [sid, { innerId, size: sizes.get(sid) ?? 0 }]);
  }
  putPrev(entries: readonly (readonly [number, InnerTable, number])[]): void {
    if (entries.length === 0) return;
    this.prevSize.updateBatch(entries.map(([sid]) => [sid, 0]));
    updateOuterBatch(this.prev, entries.map(([sid, t]) => [sid, t]));
    this.prevSize.updateBatch(entries.map(([sid, , size]) => [sid, size]));
  }
  deletePrev(serviceIds: readonly number[]): void {
    if (serviceIds.length === 0) return;
    this.prevSize.updateBatch(serviceIds.map((sid) => [sid, 0]));
    this.takeOut(this.prev, serviceIds);
  }

  /** Points these slots at the empty table, in one batch (a slot without a table is none the worse). */
  private takeOut(outer: BpfMap<number, number>, serviceIds: readonly number[]): void {
    updateOuterBatch(outer, serviceIds.map((sid) => [sid, this.none.fd]));
  }
}

/** Opens the maps pinned under `root` (--bpffs-root). */
export function openBpfMaps(root: string): LbMaps {
  const opened: BpfMap<unknown, unknown>[] = [];
  const open = <K, V>(spec: MapSpec<K, V>): BpfMap<K, V> => {
    const m = openPinned(root, spec);
    opened.push(m as BpfMap<unknown, unknown>);
    return m;
  };
  try {
    return {
      services: new KernelMap(open(MapSpecs.services), writeServiceBatch),
      frontends: new KernelSlots(open(MapSpecs.frontends), scanFrontends),
      backends: new KernelSlots<Lb4Backend>(open(MapSpecs.backends), scanBackends, writeBackendBatch),
      localBackends: new KernelMap(open(MapSpecs.localBackends)),
      backendFrontends: new KernelMap(open(MapSpecs.backendFrontends)),
      revnat: new SparseArray(new KernelMap(open(MapSpecs.revnat), writeRevnatBatch), isLiveRevnat, FREE_REVNAT),
      sourceRanges: new KernelMap(open(MapSpecs.sourceRanges)),
      nodes: new KernelMap(open(MapSpecs.nodes)),
      nodeAddrs: new KernelMap(open(MapSpecs.nodeAddrs)),
      portFilter: new KernelMap(open(MapSpecs.portFilter)),
      maglev: new KernelMaglev(open(MapSpecs.maglev), open(MapSpecs.maglevPrev), open(MapSpecs.maglevPrevSize), open(MapSpecs.maglevNone)),
      config: new KernelMap(open(MapSpecs.config)),
      close() {
        for (const m of opened) m.close();
      },
    };
  } catch (e) {
    for (const m of opened) m.close();
    throw e;
  }
}
