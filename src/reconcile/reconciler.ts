/**
 * The reconciler: desired state (desired.ts) + stable ids -> the pinned maps,
 * writing only what differs (kube-proxy's "build the full desired state, then
 * write the difference").
 *
 * Incremental: what was applied is kept per service. `sync(plan)` finds the
 * services whose frontends changed (by identity first: a plan cache hands the
 * same Frontend objects back for services it did not re-plan, so those cost a
 * pointer comparison) and works on those only; `updateServices` takes the
 * changed services directly. A table is regenerated only when its members or
 * size change.
 *
 * Restart safety: `Reconciler.open` reads what is pinned and adopts it: ids
 * stay what they were (frontends keep their service and revnat ids, backends
 * their ids, tables their contents), and the first sync writes only what
 * differs from the plan, then removes what an earlier run left that the plan
 * does not have. The connection tables (lb4_flows, lb4_dsr_revnat, lb4_snat,
 * lb4_affinity) are never touched.
 *
 * Make before break, per sync:
 *   1. nodes and node_addrs gain new nodes;
 *   2. lb4_backends gains new backends (a returning one loses TERMINATING),
 *      lb4_local_backends the local ones (local-backends.ts);
 *   3. lb4_source_ranges gains new ranges;
 *   4. Maglev tables: rewritten in place when the inner map has room for the
 *      new size (only the elements that differ when the size is the same),
 *      else built in a new inner map and, when new or growing, swapped in;
 *   5. lb4_revnat, then 6. lb4_services take the new values;
 *   7. new inner maps for tables that shrank are swapped in;
 *   8. only then: stale frontends, revnat entries, tables and ranges are
 *      deleted; backends no longer used are marked TERMINATING (existing flows
 *      keep them, new flows never pick them) and deleted after
 *      `terminatingGraceMs`; nodes go when nothing references them, and
 *      lb4_local_backends entries when their backend or service id does.
 * A frontend reads {service id, maglev_size} atomically from its lb4_services
 * entry; this order keeps every slot index it can compute inside the table it
 * finds, and every backend id in that table present in lb4_backends
 * (test/bpf/reconcile.test.ts checks it after every single map write).
 *
 * Cost: every update of a map-of-maps (lb4_maglev) waits for an RCU grace
 * period in the kernel (synchronize_rcu: ~10 ms here), so lb4_maglev is only
 * written in batches (at most three per sync), and tables are resized in
 * place whenever their inner map has room (an inner map keeps its capacity
 * when its table shrinks, so growing back is in place too).
 */
import { freedSlot, scanBackends } from '../bpf/backend-slots.js';
import { DSRLB_BE_F_LIVE, DSRLB_BE_F_TERMINATING, DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_SOURCE_RANGE_PREFIX_BASE } from '../bpf/consts.generated.js';
import type { Lb4Backend, Lb4Frontend, Lb4Key, Lb4LocalBackendKey, Lb4Revnat, Lb4Service } from '../bpf/codecs/services.js';
import type { DsrlbConfig } from '../bpf/codecs/node.js';
import type { Lb4SourceRangeKey } from '../bpf/codecs/source-ranges.js';
import { BpfError } from '../bpf/errors.js';
import type { BpfMap } from '../bpf/map.js';
import { MapSpecs, openPinned } from '../bpf/map-specs.js';
import { DsrlbError } from '../errors.js';
import type { Frontend } from '../plan/types.js';
import {
  backendKey, buildServiceDesired, desiredContext, desiredNodes, lbKeyString, sameServiceDesired,
  type DesiredContext, type DesiredInput, type DesiredWarning, type ServiceDesired,
} from './desired.js';
import { writeBackendBatch, writeRevnatBatch, writeServiceBatch } from './batch-writes.js';
import { FrontendSlots } from './frontend-slots.js';
import { LocalBackends, type LocalBackend } from './local-backends.js';
import { bumpLocalEpoch } from './local-epoch.js';
import { nodeIdForAddress } from './node-ids.js';
import { IdAllocator } from './ids.js';
import { maglevTableOf, maglevTableSize } from './maglev.js';
import { MaglevTableBuilder, type TableStream } from './maglev-builder.js';
import { maglevElements } from '../bpf/codecs/maglev.js';
import {
  closeFd, createInnerTable, deleteOuterBatch, innerTableElements, OuterBatch, openInnerTable, readInnerTable, TableBuffer,
  writeInnerElements,
} from './maglev-maps.js';

export const DEFAULT_TERMINATING_GRACE_MS = 5 * 60 * 1000;
const MAX_U32 = 0xffffffff;
const MAX_REVNAT_ID = 0xffff;
/** New inner maps held open before they go into lb4_maglev in one batch (one RCU grace period per batch). */
const TABLE_BATCH = 4096;

export interface ReconcilerOptions {
  /** --bpffs-root: where the datapath objects pinned their maps. */
  readonly bpffsRoot: string;
  /** --maglev-table-size. */
  readonly maglevMaxSize?: number;
  /**
   * How long a backend that left the plan stays in lb4_backends, flagged
   * TERMINATING, so flows already on it keep working (a pod shutting down
   * gracefully is out of the plan while it still serves its connections).
   */
  readonly terminatingGraceMs?: number;
  /** Clock in ms (tests). */
  readonly now?: () => number;
  /** Backend id -> when it became TERMINATING (`now`'s clock), as a previous run recorded: its grace goes on, not over. */
  readonly terminatingSince?: ReadonlyMap<number, number>;
}

export interface MapChanges { written: number; deleted: number }

export interface SyncResult {
  /** Services whose entries were compared and written (every service on the first sync). */
  readonly servicesChanged: number;
  readonly services: MapChanges;
  readonly revnat: MapChanges;
  /** `terminated`: newly flagged TERMINATING. */
  readonly backends: MapChanges & { terminated: number };
  /** lb4_local_backends entries. */
  readonly localBackends: MapChanges;
  readonly sourceRanges: MapChanges;
  readonly nodes: MapChanges;
  readonly tables: {
    created: number; replaced: number; updated: number; deleted: number; unchanged: number;
    /** Elements written into tables (new, replaced or updated in place). */
    elementsWritten: number;
  };
  /** Warnings of the services this sync changed (all of them: `Reconciler.warnings()`). */
  readonly warnings: readonly DesiredWarning[];
  /** When a TERMINATING backend is next due for deletion (ms, same clock as `now`): call sweep() then. */
  readonly nextSweepAt: number | null;
  readonly durationMs: number;
}

type Counts = Pick<SyncResult, 'services' | 'revnat' | 'backends' | 'localBackends' | 'sourceRanges' | 'nodes' | 'tables'>;

function emptyCounts(): Counts {
  return {
    services: { written: 0, deleted: 0 },
    revnat: { written: 0, deleted: 0 },
    backends: { written: 0, deleted: 0, terminated: 0 },
    localBackends: { written: 0, deleted: 0 },
    sourceRanges: { written: 0, deleted: 0 },
    nodes: { written: 0, deleted: 0 },
    tables: { created: 0, replaced: 0, updated: 0, deleted: 0, unchanged: 0, elementsWritten: 0 },
  };
}

/** Who is in a table: backend i is `names[i].name` with id `ids[i]`. */
interface Members {
  readonly names: readonly { readonly name: string }[];
  readonly ids: Uint32Array;
}

interface TableState {
  readonly size: number;
  /** Elements the inner map has; null when adopted and not looked at yet. */
  readonly capacity: number | null;
  /** Who is in it; null when adopted from the maps and not yet compared. */
  readonly members: Members | null;
}

interface ServiceEntry { readonly key: Lb4Key; readonly value: Lb4Service }

/** What the changed services want, with ids. */
interface Wanted {
  readonly backends: Map<number, Lb4Backend>;
  /** Per changed service, its backends on this node with their service ids. */
  readonly local: Map<string, LocalBackend[]>;
  readonly tables: Map<number, { size: number; members: Members }>;
  readonly ranges: Map<string, Lb4SourceRangeKey>;
  readonly services: Map<string, ServiceEntry>;
  readonly revnat: Map<number, Lb4Revnat>;
  /** Service ids of the groups the changed services have now. */
  readonly groupIds: Set<number>;
}

/** Keys found in the maps at adoption: checked once, at the first sync, for entries no service wants. */
interface Adopted {
  readonly services: string[];
  readonly revnat: number[];
  readonly backends: number[];
  readonly tables: number[];
  readonly ranges: string[];
}

function rangeKeyString(k: Lb4SourceRangeKey): string {
  return `${k.serviceId}|${k.address}/${k.prefixlen}`;
}

function sameService(a: Lb4Service, b: Lb4Service): boolean {
  return a.serviceId === b.serviceId && a.affinityTimeout === b.affinityTimeout && a.backendCount === b.backendCount
    && a.revnatId === b.revnatId && a.flags === b.flags && a.maglevSize === b.maglevSize;
}

/** Same backend, same state (the generation is the slot's, not part of what is wanted). */
function sameBackend(a: Lb4Backend, b: Lb4Backend): boolean {
  return a.address === b.address && a.port === b.port && a.proto === b.proto && a.flags === b.flags && a.nodeId === b.nodeId;
}

function sameMembers(a: Members, b: Members): boolean {
  if (a.ids.length !== b.ids.length) return false;
  for (let i = 0; i < a.ids.length; i++) {
    if (a.ids[i] !== b.ids[i] || (a.names[i] as { name: string }).name !== (b.names[i] as { name: string }).name) return false;
  }
  return true;
}

function sameMap<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

/** The pinned maps the reconciler writes. */
interface Maps {
  readonly services: BpfMap<Lb4Key, Lb4Service>;
  readonly frontends: BpfMap<number, Lb4Frontend>;
  readonly backends: BpfMap<number, Lb4Backend>;
  readonly localBackends: BpfMap<Lb4LocalBackendKey, number>;
  readonly revnat: BpfMap<number, Lb4Revnat>;
  readonly maglev: BpfMap<number, number>;
  readonly sourceRanges: BpfMap<Lb4SourceRangeKey, number>;
  readonly nodes: BpfMap<number, { address: string }>;
  readonly nodeAddrs: BpfMap<string, number>;
  /** Only for config.local_epoch (local-epoch.ts). */
  readonly config: BpfMap<number, DsrlbConfig>;
}

function openMaps(root: string): Maps {
  const opened: BpfMap<unknown, unknown>[] = [];
  const open = <K, V>(spec: Parameters<typeof openPinned<K, V>>[1]): BpfMap<K, V> => {
    const m = openPinned(root, spec);
    opened.push(m as BpfMap<unknown, unknown>);
    return m;
  };
  try {
    return {
      services: open(MapSpecs.services),
      frontends: open(MapSpecs.frontends),
      backends: open(MapSpecs.backends),
      localBackends: open(MapSpecs.localBackends),
      revnat: open(MapSpecs.revnat),
      maglev: open(MapSpecs.maglev),
      sourceRanges: open(MapSpecs.sourceRanges),
      nodes: open(MapSpecs.nodes),
      nodeAddrs: open(MapSpecs.nodeAddrs),
      config: open(MapSpecs.config),
    };
  } catch (e) {
    for (const m of opened) m.close();
    throw e;
  }
}

/** What sync() remembers about a service's frontends, to recognise them next time. */
interface Seen { frontends: readonly Frontend[]; epoch: number }

export class Reconciler {
  private readonly maps: Maps;
  private readonly maxSize: number;
  private readonly graceMs: number;
  private readonly now: () => number;
  /** Builds the Maglev tables of a sync (on a worker thread, once startTableWorker() has started one). */
  private readonly tableBuilder = new MaglevTableBuilder();

  // What the maps hold (as last read or written).
  private services = new Map<string, ServiceEntry>();
  private revnat = new Map<number, Lb4Revnat>();
  private backends = new Map<number, Lb4Backend>();
  private tables = new Map<number, TableState>();
  private ranges = new Map<string, Lb4SourceRangeKey>();
  private nodes = new Map<number, string>();
  private nodeAddrs = new Map<string, number>();
  private terminatingSince = new Map<number, number>();
  /** Newest lb4_backend.generation written or found: each new backend in a slot gets the next. */
  private generation = 0;
  /** lb4_frontends, kept in step with lb4_services (set by adopt(), which open() calls). */
  private frontendSlots!: FrontendSlots;
  /** lb4_local_backends (set by adopt()). */
  private localBackends!: LocalBackends;
  /** This node's id, from the last sync() (backends with it are local). */
  private localNodeId = 0;
  /** A frontend now leads to another service id: flows verified before must be verified again. */
  private frontendMoved = false;

  // Ids, by identity: group key -> service id, backend key -> backend id, frontend -> revnat id.
  private serviceIds = new IdAllocator('service id', 1, MAX_U32);
  private backendIds: IdAllocator;
  private revnatIds = new IdAllocator('revnat id', 1, MAX_REVNAT_ID);

  // What has been applied, per service, and what follows from it.
  private applied = new Map<string, ServiceDesired>();
  private seen = new Map<string, Seen>();
  private epoch = 0;
  private frontendOwner = new Map<string, string>();
  /** Backend key -> number of groups listing it. */
  private backendRefs = new Map<string, number>();
  private ctx: DesiredContext | undefined;
  private wantNodes = new Map<number, string>();
  private synced = false;
  /** Set by adopt(): the first sync also removes what no service wants. */
  private adopted: Adopted | null = null;
  /** A write failed part way: re-read the maps and compare everything at the next sync. */
  private dirty = false;

  private constructor(maps: Maps, opts: ReconcilerOptions) {
    this.maps = maps;
    this.maxSize = opts.maglevMaxSize ?? DSRLB_MAGLEV_DEFAULT_SIZE;
    this.graceMs = opts.terminatingGraceMs ?? DEFAULT_TERMINATING_GRACE_MS;
    this.now = opts.now ?? Date.now;
    this.backendIds = this.newBackendIds();
    this.terminatingSince = new Map(opts.terminatingSince);
  }

  /** Backend id -> when it became TERMINATING: what a caller persists so the grace survives a restart. */
  terminating(): ReadonlyMap<number, number> {
    return this.terminatingSince;
  }

  /** Backend ids index lb4_backends: 1 to its last slot. */
  private newBackendIds(): IdAllocator {
    return new IdAllocator('backend id', 1, this.maps.backends.info().maxEntries - 1);
  }

  /** Opens the maps pinned under `bpffsRoot` and adopts what they hold. */
  static open(opts: ReconcilerOptions): Reconciler {
    const r = new Reconciler(openMaps(opts.bpffsRoot), opts);
    try {
      r.adopt();
    } catch (e) {
      r.close();
      throw e;
    }
    return r;
  }

  close(): void {
    for (const m of Object.values(this.maps) as BpfMap<unknown, unknown>[]) m.close();
    void this.tableBuilder.close();
  }

  /**
   * Builds large syncs' Maglev tables on a worker thread from now on, while
   * this thread writes the maps. Resolves when the thread runs (null) or to
   * the error that stopped it (tables are then built on this thread).
   */
  startTableWorker(): Promise<Error | null> {
    return this.tableBuilder.startWorker();
  }

  /** The service id of a backend set (plan's backendSetKey), once synced. */
  serviceIdOf(groupKey: string): number | undefined { return this.serviceIds.get(groupKey); }
  /** The backend id of {address, port, proto}. */
  backendIdOf(address: string, port: number, proto: number): number | undefined { return this.backendIds.get(backendKey(address, port, proto)); }
  /** The revnat id of a frontend. */
  revnatIdOf(key: Lb4Key): number | undefined { return this.revnatIds.get(lbKeyString(key)); }

  /** Warnings of every service as last applied. */
  warnings(): DesiredWarning[] {
    return [...this.applied.values()].flatMap((s) => s.warnings);
  }

  /** Programs a whole plan: services not in it are removed. */
  sync(input: DesiredInput): SyncResult {
    const started = performance.now();
    const nodes = desiredNodes(input.localNode, input.nodeAddresses);
    this.localNodeId = nodeIdForAddress(input.localNode.address);
    const nodesChanged = !this.ctx || !sameMap(nodes.byId, this.wantNodes) || !sameMap(nodes.idByName, this.ctx.nodeIdByName);
    const ctx = nodesChanged ? desiredContext(nodes.idByName, { maglevMaxSize: this.maxSize }) : this.ctx as DesiredContext;
    const changes = this.changedServices(input.plan.frontends, ctx, nodesChanged);
    this.ctx = ctx;
    return this.run(started, changes, nodesChanged ? nodes.byId : null);
  }

  /**
   * Programs the given services only: each maps to its complete new list of
   * frontends (all with that `service`); an empty list removes the service.
   * Services not named stay as they are. Needs one sync() first (it says
   * which nodes exist and what the whole plan holds).
   */
  updateServices(changes: ReadonlyMap<string, readonly Frontend[]>): SyncResult {
    const started = performance.now();
    if (!this.synced || !this.ctx) {
      throw new DsrlbError('ERR_RECONCILE_NOT_SYNCED', 'updateServices before the first full sync', {
        subject: 'reconciler', remedy: 'call sync() with the whole plan first',
      });
    }
    const out = new Map<string, ServiceDesired | null>();
    for (const [service, frontends] of changes) {
      this.seen.delete(service);
      const next = frontends.length === 0 ? null : buildServiceDesired(service, frontends, this.ctx);
      const prev = this.applied.get(service);
      if (next === null ? prev !== undefined : !prev || !sameServiceDesired(prev, next)) out.set(service, next);
    }
    return this.run(started, out, null);
  }

  /**
   * Deletes TERMINATING backends whose grace is over (SyncResult.nextSweepAt)
   * and nodes nothing needs any more. Null before the first sync: no plan yet
   * is not an empty plan.
   */
  sweep(): SyncResult | null {
    return this.synced ? this.run(performance.now(), new Map(), null) : null;
  }

  // ---- which services changed ------------------------------------------------

  /**
   * Walks the plan's frontends service by service (a plan lists a service's
   * frontends together); a service whose Frontend objects are the very ones
   * seen last time is unchanged without looking inside. Others are built
   * and compared with what was applied.
   */
  private changedServices(frontends: readonly Frontend[], ctx: DesiredContext, rebuildAll: boolean): Map<string, ServiceDesired | null> {
    const epoch = ++this.epoch;
    const changes = new Map<string, ServiceDesired | null>();
    let planned = 0;
    let scattered = false;
    const consider = (service: string, from: number, to: number): void => {
      planned++;
      const seen = this.seen.get(service);
      if (seen && seen.epoch === epoch) scattered = true;
      if (!rebuildAll && seen && this.applied.has(service) && sameRange(seen.frontends, frontends, from, to)) {
        seen.epoch = epoch;
        return;
      }
      const list = frontends.slice(from, to);
      this.seen.set(service, { frontends: list, epoch });
      const next = buildServiceDesired(service, list, ctx);
      const prev = this.applied.get(service);
      if (!prev || !sameServiceDesired(prev, next)) changes.set(service, next);
    };
    for (let i = 0; i < frontends.length;) {
      const service = (frontends[i] as Frontend).service;
      let j = i + 1;
      while (j < frontends.length && (frontends[j] as Frontend).service === service) j++;
      consider(service, i, j);
      i = j;
    }
    if (scattered) {
      // A service's frontends were not together: group them properly and start over.
      this.seen.clear();
      const grouped = new Map<string, Frontend[]>();
      for (const f of frontends) {
        const list = grouped.get(f.service);
        if (list) list.push(f);
        else grouped.set(f.service, [f]);
      }
      changes.clear();
      planned = 0;
      const again = ++this.epoch;
      for (const [service, list] of grouped) {
        planned++;
        this.seen.set(service, { frontends: list, epoch: again });
        const next = buildServiceDesired(service, list, ctx);
        const prev = this.applied.get(service);
        if (!prev || !sameServiceDesired(prev, next)) changes.set(service, next);
      }
    }
    // Services that left the plan.
    const added = [...changes.keys()].filter((s) => !this.applied.has(s)).length;
    if (this.applied.size > planned - added) {
      const current = this.epoch;
      for (const service of this.applied.keys()) {
        if (this.seen.get(service)?.epoch !== current) {
          changes.set(service, null);
          this.seen.delete(service);
        }
      }
    }
    return changes;
  }

  // ---- adoption ----------------------------------------------------------

  private adopt(): void {
    const now = this.now();
    const since = this.terminatingSince;
    this.services = new Map();
    this.revnat = new Map();
    this.backends = new Map();
    this.tables = new Map();
    this.ranges = new Map();
    this.nodes = new Map();
    this.nodeAddrs = new Map();
    this.terminatingSince = new Map();
    this.serviceIds = new IdAllocator('service id', 1, MAX_U32);
    this.backendIds = this.newBackendIds();
    this.revnatIds = new IdAllocator('revnat id', 1, MAX_REVNAT_ID);
    this.applied = new Map();
    this.seen = new Map();
    this.frontendOwner = new Map();
    this.backendRefs = new Map();
    this.wantNodes = new Map();
    this.ctx = undefined;
    this.synced = false;

    const sizeOf = new Map<number, number>();
    for (const [key, value] of this.maps.services.entries()) {
      const k = lbKeyString(key);
      this.services.set(k, { key, value });
      this.serviceIds.reserve(value.serviceId);
      if (value.maglevSize > 0) sizeOf.set(value.serviceId, value.maglevSize);
      if (!this.revnatIds.adopt(k, value.revnatId)) this.revnatIds.reserve(value.revnatId);
    }
    for (const [id, value] of this.maps.revnat.entries()) {
      this.revnat.set(id, value);
      if (this.revnatIds.keyOf(id) === undefined) this.revnatIds.reserve(id);
    }
    this.frontendSlots = new FrontendSlots(this.maps.frontends);
    this.localBackends = new LocalBackends(this.maps.localBackends);
    // Whatever backend nodes verified before this (re)read may be stale.
    bumpLocalEpoch(this.maps.config);
    const slots = scanBackends(this.maps.backends);
    this.generation = slots.newestGeneration;
    for (const [id, value] of slots.live) {
      this.backends.set(id, value);
      if (!this.backendIds.adopt(backendKey(value.address, value.port, value.proto), id)) this.backendIds.reserve(id);
      if (value.flags & DSRLB_BE_F_TERMINATING) this.terminatingSince.set(id, since.get(id) ?? now);
    }
    for (const id of this.maps.maglev.keys()) {
      this.serviceIds.reserve(id);
      // A table no frontend points at has an unknown size: nothing wants it, so it goes at the first sync.
      this.tables.set(id, { size: sizeOf.get(id) ?? 0, capacity: null, members: null });
    }
    for (const key of this.maps.sourceRanges.keys()) {
      this.ranges.set(rangeKeyString(key), key);
      this.serviceIds.reserve(key.serviceId);
    }
    for (const [id, node] of this.maps.nodes.entries()) this.nodes.set(id, node.address);
    for (const [address, id] of this.maps.nodeAddrs.entries()) this.nodeAddrs.set(address, id);
    this.adopted = {
      services: [...this.services.keys()], revnat: [...this.revnat.keys()], backends: [...this.backends.keys()],
      tables: [...this.tables.keys()], ranges: [...this.ranges.keys()],
    };
    this.dirty = false;
  }

  // ---- a sync ------------------------------------------------------------------

  private run(started: number, changes: Map<string, ServiceDesired | null>, nodes: Map<number, string> | null): SyncResult {
    if (this.dirty) {
      // After a failure only the maps know what they hold: re-read them, then compare every service.
      const all = new Map<string, ServiceDesired | null>(this.applied);
      for (const [s, d] of changes) all.set(s, d);
      const wantNodes = nodes ?? this.wantNodes;
      const ctx = this.ctx;
      this.adopt();
      this.ctx = ctx;
      for (const [s, d] of [...all]) if (d === null) all.delete(s);
      changes = all;
      nodes = wantNodes;
    }
    try {
      const counts = emptyCounts();
      const result = this.apply(changes, nodes, counts);
      this.synced = true;
      return { ...counts, ...result, durationMs: performance.now() - started };
    } catch (e) {
      this.dirty = true;
      throw e;
    }
  }

  private apply(changes: ReadonlyMap<string, ServiceDesired | null>, nodes: Map<number, string> | null, res: Counts)
    : Pick<SyncResult, 'servicesChanged' | 'warnings' | 'nextSweepAt'> {
    const now = this.now();
    const olds: ServiceDesired[] = [];
    const news: ServiceDesired[] = [];
    for (const [s, next] of changes) {
      const prev = this.applied.get(s);
      if (prev) olds.push(prev);
      if (next) news.push(next);
    }
    this.updateOwnership(olds, news);
    const want = this.wanted(news);

    if (nodes) this.writeNodes(nodes, res);
    this.writeBackends(want.backends, res);
    res.localBackends.written = this.localBackends.update([...changes.keys()], want.local);
    this.writeRanges(want.ranges, res);
    this.writeTablesAndFrontends(want, res);

    this.deleteFrontends(olds, res);
    const goneGroups = this.releaseGoneGroups(olds, want.groupIds);
    this.deleteTables(want, goneGroups, res);
    this.deleteRanges(want, goneGroups, res);
    this.retireBackends(olds, now, res);
    const expired = this.expireBackends(now, res);
    res.localBackends.deleted = this.localBackends.prune(this.backends, this.localNodeId);
    if (res.services.deleted > 0 || res.localBackends.deleted > 0 || this.frontendMoved) bumpLocalEpoch(this.maps.config);
    this.frontendMoved = false;
    if (nodes || expired > 0) this.deleteUnusedNodes(nodes ?? this.wantNodes, res);

    for (const [s, next] of changes) {
      if (next) {
        this.applied.set(s, next);
      } else {
        this.applied.delete(s);
        this.seen.delete(s);
      }
    }
    if (nodes) this.wantNodes = nodes;
    this.adopted = null;

    let nextSweepAt: number | null = null;
    for (const t of this.terminatingSince.values()) {
      const due = t + this.graceMs;
      if (nextSweepAt === null || due < nextSweepAt) nextSweepAt = due;
    }
    return { servicesChanged: changes.size, warnings: news.flatMap((s) => s.warnings), nextSweepAt };
  }

  private updateOwnership(olds: readonly ServiceDesired[], news: readonly ServiceDesired[]): void {
    for (const o of olds) {
      for (const f of o.frontends) if (this.frontendOwner.get(f.key) === o.service) this.frontendOwner.delete(f.key);
      for (const g of o.groups) {
        for (const b of g.backends) {
          const n = (this.backendRefs.get(b.key) ?? 0) - 1;
          if (n > 0) this.backendRefs.set(b.key, n);
          else this.backendRefs.delete(b.key);
        }
      }
    }
    for (const s of news) {
      for (const f of s.frontends) this.frontendOwner.set(f.key, s.service);
      for (const g of s.groups) for (const b of g.backends) this.backendRefs.set(b.key, (this.backendRefs.get(b.key) ?? 0) + 1);
    }
  }

  /**
   * Service ids for groups that have none. A group keeps the id it has; a
   * group seen for the first time (or first since a restart) adopts the id
   * its frontends already use in lb4_services, the strongest claims first
   * (the id most of a group's frontends share), so a restart, or a frontend
   * moving between groups, changes no id that did not have to change.
   */
  private assignGroupIds(news: readonly ServiceDesired[]): void {
    const claims: [string, number, number][] = [];
    const fresh: string[] = [];
    for (const s of news) {
      for (const g of s.groups) {
        if (this.serviceIds.get(g.key) !== undefined) continue;
        fresh.push(g.key);
        const votes = new Map<number, number>();
        for (const f of s.frontends) {
          if (f.groupKey !== g.key) continue;
          const cur = this.services.get(f.key);
          if (cur) votes.set(cur.value.serviceId, (votes.get(cur.value.serviceId) ?? 0) + 1);
        }
        for (const [id, n] of votes) claims.push([g.key, id, n]);
      }
    }
    claims.sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[1] - b[1]);
    for (const [key, id] of claims) {
      if (this.serviceIds.get(key) !== undefined || this.serviceIds.keyOf(id) !== undefined) continue;
      this.serviceIds.adopt(key, id);
    }
    fresh.sort();
    for (const key of fresh) this.serviceIds.acquire(key);
  }

  /** The entries the changed services want, with their ids. */
  private wanted(news: readonly ServiceDesired[]): Wanted {
    this.assignGroupIds(news);
    const want: Wanted = {
      backends: new Map(), local: new Map(), tables: new Map(), ranges: new Map(), services: new Map(), revnat: new Map(), groupIds: new Set(),
    };
    for (const s of news) {
      const sizeOf = new Map<string, number>();
      const local: LocalBackend[] = [];
      want.local.set(s.service, local);
      for (const g of s.groups) {
        const sid = this.serviceIds.get(g.key) as number;
        want.groupIds.add(sid);
        sizeOf.set(g.key, g.maglevSize);
        const ids = new Uint32Array(g.backends.length);
        g.backends.forEach((b, i) => {
          const id = this.backendIds.acquire(b.key);
          ids[i] = id;
          if (!want.backends.has(id)) {
            want.backends.set(id, { address: b.address, port: b.port, proto: b.proto, flags: DSRLB_BE_F_LIVE, nodeId: b.nodeId, generation: 0 });
          }
          if (b.nodeId === this.localNodeId) local.push({ address: b.address, port: b.port, proto: b.proto, serviceId: sid, backendId: id });
        });
        if (g.maglevSize > 0) want.tables.set(sid, { size: g.maglevSize, members: { names: g.backends, ids } });
        for (const r of g.sourceRanges) {
          const k: Lb4SourceRangeKey = { prefixlen: DSRLB_SOURCE_RANGE_PREFIX_BASE + r.prefixLength, serviceId: sid, address: r.address };
          want.ranges.set(rangeKeyString(k), k);
        }
      }
      for (const f of s.frontends) {
        if (this.frontendOwner.get(f.key) !== s.service) continue;
        const revnatId = this.revnatIds.acquire(f.key);
        want.revnat.set(revnatId, { address: f.lbKey.address, port: f.lbKey.port });
        want.services.set(f.key, {
          key: f.lbKey,
          value: {
            serviceId: this.serviceIds.get(f.groupKey) as number,
            affinityTimeout: f.affinityTimeout,
            backendCount: f.backendCount,
            revnatId,
            flags: f.flags,
            maglevSize: sizeOf.get(f.groupKey) ?? 0,
          },
        });
      }
    }
    return want;
  }

  // ---- writes, in order ----------------------------------------------------------

  /** 1. Every node and its address (new ones first; stale ones go in deleteUnusedNodes). */
  private writeNodes(nodes: ReadonlyMap<number, string>, res: Counts): void {
    const nodeWrites: [number, { address: string }][] = [];
    const addrWrites: [string, number][] = [];
    for (const [id, address] of nodes) {
      if (this.nodes.get(id) !== address) nodeWrites.push([id, { address }]);
      if (this.nodeAddrs.get(address) !== id) addrWrites.push([address, id]);
    }
    this.maps.nodes.updateBatch(nodeWrites);
    for (const [id, v] of nodeWrites) this.nodes.set(id, v.address);
    this.maps.nodeAddrs.updateBatch(addrWrites);
    for (const [a, id] of addrWrites) this.nodeAddrs.set(a, id);
    res.nodes.written = nodeWrites.length + addrWrites.length;
  }

  /** 2. Backends the changed services list, active. */
  private writeBackends(want: ReadonlyMap<number, Lb4Backend>, res: Counts): void {
    const writes: [number, Lb4Backend][] = [];
    // want's values are this sync's own objects: completed in place, iterated
    // without entry arrays (a cold start writes 100,000 of them).
    want.forEach((b, id) => {
      const cur = this.backends.get(id);
      if (cur && sameBackend(cur, b)) return;
      b.generation = cur ? cur.generation : ++this.generation;
      writes.push([id, b]);
    });
    writeBackendBatch(this.maps.backends, writes);
    for (const [id, v] of writes) {
      this.backends.set(id, v);
      this.terminatingSince.delete(id);
    }
    res.backends.written = writes.length;
  }

  /** 3. Source ranges the changed services add. */
  private writeRanges(want: ReadonlyMap<string, Lb4SourceRangeKey>, res: Counts): void {
    for (const [k, key] of want) {
      if (this.ranges.has(k)) continue;
      this.maps.sourceRanges.update(key, 1);
      this.ranges.set(k, key);
      res.sourceRanges.written++;
    }
  }

  /** 4. tables, 5. revnat, 6. services, 7. tables that shrank into a new inner map. */
  private writeTablesAndFrontends(want: Wanted, res: Counts): void {
    const m = this.maps;
    const early = new OuterBatch<TableState>(m.maglev);
    const late = new OuterBatch<TableState>(m.maglev);
    let tables: TableStream | undefined;
    try {
      const todo: [number, { size: number; members: Members }][] = [];
      for (const [sid, t] of want.tables) {
        const cur = this.tables.get(sid);
        if (cur && cur.size === t.size && cur.members && sameMembers(cur.members, t.members)) res.tables.unchanged++;
        else todo.push([sid, t]);
      }
      // All of them at once: the builder works ahead (on its worker thread) while this loop writes.
      tables = this.tableBuilder.build(todo.map(([, t]) => ({ names: t.members.names, ids: t.members.ids, size: t.size })));
      for (const [sid, t] of todo) {
        const cur = this.tables.get(sid);
        const table = tables.next();
        if (cur && this.updateInPlace(sid, cur, table, res.tables)) {
          this.tables.set(sid, { size: t.size, capacity: this.tables.get(sid)?.capacity ?? null, members: t.members });
          continue;
        }
        const shrinking = cur !== undefined && cur.size > t.size;
        // A table that outgrew its inner map is likely to grow again: leave room for an eighth more backends.
        const capacity = cur && !shrinking ? this.roomToGrow(t.members.ids.length, table.elements) : table.elements;
        const state: TableState = { size: t.size, capacity, members: t.members };
        const fd = this.createTable(sid, table, early, capacity);
        res.tables.elementsWritten += table.elements;
        if (shrinking) {
          late.add(sid, fd, state);
        } else {
          early.add(sid, fd, state);
          if (cur) res.tables.replaced++;
          else res.tables.created++;
        }
      }
      for (const [sid, s] of early.flush()) this.tables.set(sid, s);

      const revnatWrites: [number, Lb4Revnat][] = [];
      for (const [id, r] of want.revnat) {
        const cur = this.revnat.get(id);
        if (!cur || cur.address !== r.address || cur.port !== r.port) revnatWrites.push([id, r]);
      }
      writeRevnatBatch(m.revnat, revnatWrites);
      for (const [id, v] of revnatWrites) this.revnat.set(id, v);
      res.revnat.written = revnatWrites.length;

      const serviceWrites: [Lb4Key, Lb4Service][] = [];
      for (const [k, s] of want.services) {
        const cur = this.services.get(k);
        if (!cur || !sameService(cur.value, s.value)) serviceWrites.push([s.key, s.value]);
        if (cur && cur.value.serviceId !== s.value.serviceId) this.frontendMoved = true;
      }
      this.frontendSlots.write(serviceWrites);
      writeServiceBatch(m.services, serviceWrites);
      for (const [key, value] of serviceWrites) this.services.set(lbKeyString(key), { key, value });
      res.services.written = serviceWrites.length;

      const swapped = late.flush();
      for (const [sid, s] of swapped) this.tables.set(sid, s);
      res.tables.replaced += swapped.length;
    } finally {
      tables?.close();
      early.discard();
      late.discard();
    }
  }

  /**
   * A new inner map holding `table`. When too many are open, or the process
   * runs out of fds, the ones waiting in `pending` go in first (they are new
   * or growing: putting them in before the services change is safe).
   */
  /** Elements for a table of `backends` backends that should take a few more without a new inner map. */
  private roomToGrow(backends: number, elements: number): number {
    return Math.max(elements, maglevElements(maglevTableSize(backends + Math.max(1, Math.ceil(backends / 8)), this.maxSize)));
  }

  private createTable(sid: number, table: TableBuffer, pending: OuterBatch<TableState>, capacity: number): number {
    const flushPending = (): void => {
      for (const [id, s] of pending.flush()) this.tables.set(id, s);
    };
    if (pending.size >= TABLE_BATCH) flushPending();
    try {
      return createInnerTable(sid, table, capacity);
    } catch (e) {
      if (!(e instanceof BpfError) || e.code !== 'ERR_BPF_EMFILE' || pending.size === 0) throw e;
      flushPending();
      return createInnerTable(sid, table, capacity);
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
    const innerId = this.maps.maglev.lookup(sid);
    if (innerId === undefined) return false;
    const fd = openInnerTable(sid, innerId);
    try {
      const capacity = cur.capacity ?? innerTableElements(sid, fd);
      this.tables.set(sid, { ...cur, capacity });
      if (capacity < next.elements) return false;
      let elements: number[];
      if (cur.size === next.size) {
        let old: TableBuffer;
        if (cur.members) {
          old = TableBuffer.scratch(cur.size, 1);
          maglevTableOf(cur.members.names, cur.members.ids, cur.size, old.slots);
          old.fillPadding();
        } else {
          old = readInnerTable(sid, fd, cur.size);
        }
        elements = next.changedElements(old);
      } else {
        elements = Array.from({ length: next.elements }, (_, i) => i);
      }
      writeInnerElements(sid, fd, next, elements);
      stats.elementsWritten += elements.length;
      if (elements.length > 0) stats.updated++;
      else stats.unchanged++;
      return true;
    } finally {
      closeFd(fd);
    }
  }

  // ---- 8. deletions, now that nothing points at what goes ------------------------------

  /** Frontends (and their revnat entries) no service owns any more. */
  private deleteFrontends(olds: readonly ServiceDesired[], res: Counts): void {
    const candidates = olds.flatMap((o) => o.frontends.map((f) => f.key));
    if (this.adopted) candidates.push(...this.adopted.services);
    const stale: ServiceEntry[] = [];
    const seen = new Set<string>();
    for (const k of candidates) {
      if (seen.has(k)) continue;
      seen.add(k);
      const cur = this.services.get(k);
      if (cur && !this.frontendOwner.has(k)) stale.push(cur);
    }
    this.frontendSlots.free(stale.map((e) => e.value.revnatId));
    this.maps.services.deleteBatch(stale.map((e) => e.key));
    for (const e of stale) {
      const k = lbKeyString(e.key);
      this.services.delete(k);
      this.revnatIds.release(k);
    }
    res.services.deleted = stale.length;
    if (this.adopted) this.frontendSlots.match([...this.services.values()].map((e) => [e.key, e.value] as const));

    const revnatCandidates = stale.map((e) => e.value.revnatId);
    if (this.adopted) revnatCandidates.push(...this.adopted.revnat);
    const staleRevnat = [...new Set(revnatCandidates)].filter((id) => {
      if (!this.revnat.has(id)) return false;
      const owner = this.revnatIds.keyOf(id);
      return owner === undefined || !this.frontendOwner.has(owner);
    });
    this.maps.revnat.deleteBatch(staleRevnat);
    for (const id of staleRevnat) {
      this.revnat.delete(id);
      this.revnatIds.unreserve(id);
    }
    res.revnat.deleted = staleRevnat.length;
  }

  /** Groups of the changed services that no longer exist: their ids are released. */
  private releaseGoneGroups(olds: readonly ServiceDesired[], groupIdsNow: ReadonlySet<number>): Set<number> {
    const gone = new Set<number>();
    for (const o of olds) {
      for (const g of o.groups) {
        const sid = this.serviceIds.get(g.key);
        if (sid === undefined || groupIdsNow.has(sid)) continue;
        gone.add(sid);
        this.serviceIds.release(g.key);
      }
    }
    return gone;
  }

  private deleteTables(want: Wanted, gone: ReadonlySet<number>, res: Counts): void {
    const candidates = [...gone, ...want.groupIds, ...(this.adopted?.tables ?? [])];
    const stale: number[] = [];
    for (const sid of new Set(candidates)) {
      if (!this.tables.has(sid) || want.tables.has(sid)) continue;
      // An adopted table is kept only if a group holds its id and has backends: then it is in want.tables.
      stale.push(sid);
    }
    deleteOuterBatch(this.maps.maglev, stale);
    for (const sid of stale) this.tables.delete(sid);
    res.tables.deleted = stale.length;
  }

  private deleteRanges(want: Wanted, gone: ReadonlySet<number>, res: Counts): void {
    const stale: string[] = [];
    const consider = (k: string, key: Lb4SourceRangeKey): void => {
      if (want.ranges.has(k)) return;
      const ours = gone.has(key.serviceId) || want.groupIds.has(key.serviceId);
      const orphan = this.adopted !== null && this.serviceIds.keyOf(key.serviceId) === undefined;
      if (ours || orphan) stale.push(k);
    };
    if (gone.size > 0 || want.groupIds.size > 0 || this.adopted) for (const [k, key] of this.ranges) consider(k, key);
    for (const k of stale) {
      this.maps.sourceRanges.delete(this.ranges.get(k) as Lb4SourceRangeKey);
      this.ranges.delete(k);
    }
    res.sourceRanges.deleted = stale.length;
    for (const sid of gone) this.serviceIds.unreserve(sid);
  }

  /** Backends no group lists any more: TERMINATING from now on. */
  private retireBackends(olds: readonly ServiceDesired[], now: number, res: Counts): void {
    const candidates = new Set<number>();
    for (const o of olds) {
      for (const g of o.groups) {
        for (const b of g.backends) {
          const id = this.backendIds.get(b.key);
          if (id !== undefined) candidates.add(id);
        }
      }
    }
    for (const id of this.adopted?.backends ?? []) candidates.add(id);
    const terminate: [number, Lb4Backend][] = [];
    for (const id of candidates) {
      const cur = this.backends.get(id);
      if (!cur || (cur.flags & DSRLB_BE_F_TERMINATING)) continue;
      // An id without an identity is a duplicate found at adoption: never wanted.
      const key = this.backendIds.keyOf(id);
      if (key !== undefined && this.backendRefs.has(key)) continue;
      terminate.push([id, { ...cur, flags: cur.flags | DSRLB_BE_F_TERMINATING }]);
    }
    writeBackendBatch(this.maps.backends, terminate);
    for (const [id, v] of terminate) {
      this.backends.set(id, v);
      this.terminatingSince.set(id, now);
    }
    res.backends.terminated = terminate.length;
  }

  /** TERMINATING backends whose grace is over are deleted; returns how many. */
  private expireBackends(now: number, res: Counts): number {
    const expired: number[] = [];
    for (const [id, since] of this.terminatingSince) if (now - since >= this.graceMs) expired.push(id);
    // Freed, not deleted (an array): the slot keeps its generation.
    writeBackendBatch(this.maps.backends, expired.map((id) => [id, freedSlot(this.backends.get(id)?.generation ?? 0)]));
    for (const id of expired) {
      const cur = this.backends.get(id);
      this.backends.delete(id);
      this.terminatingSince.delete(id);
      if (cur) {
        const key = backendKey(cur.address, cur.port, cur.proto);
        if (this.backendIds.get(key) === id) this.backendIds.release(key);
      }
      this.backendIds.unreserve(id);
    }
    res.backends.deleted = expired.length;
    return expired.length;
  }

  /** Nodes not in the cluster that no remaining backend encapsulates to. */
  private deleteUnusedNodes(nodes: ReadonlyMap<number, string>, res: Counts): void {
    let candidates = false;
    for (const id of this.nodes.keys()) if (!nodes.has(id)) candidates = true;
    for (const [address, id] of this.nodeAddrs) if (nodes.get(id) !== address) candidates = true;
    if (!candidates) return;
    const inUse = new Set<number>(nodes.keys());
    for (const b of this.backends.values()) inUse.add(b.nodeId);
    const staleNodes = [...this.nodes.keys()].filter((id) => !inUse.has(id));
    this.maps.nodes.deleteBatch(staleNodes);
    for (const id of staleNodes) this.nodes.delete(id);
    const addrsInUse = new Set<string>();
    for (const id of inUse) {
      const a = this.nodes.get(id) ?? nodes.get(id);
      if (a !== undefined) addrsInUse.add(a);
    }
    const staleAddrs = [...this.nodeAddrs.keys()].filter((a) => !addrsInUse.has(a));
    this.maps.nodeAddrs.deleteBatch(staleAddrs);
    for (const a of staleAddrs) this.nodeAddrs.delete(a);
    res.nodes.deleted = staleNodes.length + staleAddrs.length;
  }
}

/** `seen` holds exactly the objects plan[from, to) holds, in order. */
function sameRange(seen: readonly Frontend[], plan: readonly Frontend[], from: number, to: number): boolean {
  if (seen.length !== to - from) return false;
  for (let i = 0; i < seen.length; i++) if (seen[i] !== plan[from + i]) return false;
  return true;
}
