/**
 * The reconciler: desired state (desired.ts) + stable ids -> the maps,
 * writing only what differs (kube-proxy's "build the full desired state, then
 * write the difference"). This file is the facade; each concern is a file:
 * what the maps hold and adoption (held.ts), ids (ids.ts, wanted.ts), what was
 * applied and which services changed (applied.ts), the ordered
 * make-before-break apply (apply.ts, with writes.ts, tables.ts, deletes.ts,
 * port-filter-writer.ts), backend lifecycle (lifecycle.ts). It talks to the
 * maps only through LbMaps (maps/lb-maps.ts).
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
 * Full syncs: FullSync (src/model/full-sync.ts) says when the maps must be
 * read back first: after a write failed part way (only the maps know what
 * they hold then), and for the periodic resync (`resync`), which repairs
 * whatever differs from the plan (an entry changed or deleted by hand).
 */
import { DSRLB_MAGLEV_DEFAULT_SIZE } from '../bpf/consts.generated.js';
import type { Lb4Key } from '../bpf/codecs/services.js';
import { DsrlbError } from '../errors.js';
import { backendKey, frontendKeyOf } from '../model/keys.js';
import { FullSync } from '../model/full-sync.js';
import type { Frontend } from '../plan/types.js';
import { AppliedServices } from './applied.js';
import { applyChanges } from './apply.js';
import type { ReconcileContext } from './context.js';
import { desiredContext, desiredNodes, type DesiredContext, type DesiredInput } from './desired.js';
import type { DesiredWarning, ServiceDesired } from './desired-types.js';
import { sameMap } from './equality.js';
import { adoptMaps } from './held.js';
import { nextSweepAt } from './lifecycle.js';
import { nodeIdForAddress } from './node-ids.js';
import { MaglevTableBuilder } from './maglev-builder.js';
import { openBpfMaps } from './maps/bpf-maps.js';
import type { LbMaps } from './maps/lb-maps.js';
import { emptyCounts, type SyncResult } from './result.js';

export const DEFAULT_TERMINATING_GRACE_MS = 5 * 60 * 1000;

export interface ReconcilerOptions {
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
  /** The pipeline's "next sync is full"; without one the reconciler keeps (and clears) its own. */
  readonly fullSync?: FullSync;
  /** Backend id -> when it became TERMINATING (`now`'s clock), as a previous run recorded: its grace goes on, not over. */
  readonly terminatingSince?: ReadonlyMap<number, number>;
}

export class Reconciler {
  private readonly c: ReconcileContext;
  private readonly now: () => number;
  private readonly fullSync: FullSync;
  private readonly ownsFullSync: boolean;
  private ctx: DesiredContext | undefined;
  private wantNodes = new Map<number, string>();
  private synced = false;
  /** Services to write again after the maps were read back, until a sync gets them all in. */
  private unapplied: Map<string, ServiceDesired> | null = null;

  /** Adopts what `maps` hold; closes them when it fails or on close(). */
  constructor(private readonly maps: LbMaps, opts: ReconcilerOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.fullSync = opts.fullSync ?? new FullSync();
    this.ownsFullSync = opts.fullSync === undefined;
    try {
      const { held, ids, adopted } = adoptMaps(maps, this.now(), new Map(opts.terminatingSince));
      this.c = {
        maps, held, ids, adopted, applied: new AppliedServices(), tableBuilder: new MaglevTableBuilder(), localNodeId: 0, frontendMoved: false,
        maxSize: opts.maglevMaxSize ?? DSRLB_MAGLEV_DEFAULT_SIZE, graceMs: opts.terminatingGraceMs ?? DEFAULT_TERMINATING_GRACE_MS,
      };
    } catch (e) {
      maps.close();
      throw e;
    }
  }

  /** Opens the maps pinned under `bpffsRoot` (--bpffs-root) and adopts what they hold. */
  static open(opts: ReconcilerOptions & { readonly bpffsRoot: string }): Reconciler {
    return new Reconciler(openBpfMaps(opts.bpffsRoot), opts);
  }

  close(): void {
    this.maps.close();
    void this.c.tableBuilder.close();
  }

  /**
   * Builds large syncs' Maglev tables on a worker thread from now on, while
   * this thread writes the maps. Resolves when the thread runs (null) or to
   * the error that stopped it (tables are then built on this thread).
   */
  startTableWorker(): Promise<Error | null> {
    return this.c.tableBuilder.startWorker();
  }

  /** The service id of a backend set (plan's backendSetKey), once synced. */
  serviceIdOf(groupKey: string): number | undefined { return this.c.ids.service.get(groupKey); }
  /** The backend id of {address, port, proto}. */
  backendIdOf(address: string, port: number, proto: number): number | undefined { return this.c.ids.backend.get(backendKey(address, port, proto)); }
  /** The revnat id of a frontend. */
  revnatIdOf(key: Lb4Key): number | undefined { return this.c.ids.revnat.get(frontendKeyOf(key)); }

  /** Backend id -> when it became TERMINATING: what a caller persists so the grace survives a restart. */
  terminating(): ReadonlyMap<number, number> {
    return this.c.held.terminatingSince;
  }

  /** Services (by name) and frontends as last applied: what the maps serve. */
  programmed(): { services: number; frontends: number } {
    return { services: this.c.applied.services.size, frontends: this.c.applied.frontendOwner.size };
  }

  /** Warnings of every service as last applied. */
  warnings(): DesiredWarning[] {
    return [...this.c.applied.services.values()].flatMap((s) => s.warnings);
  }

  /** Programs a whole plan: services not in it are removed. */
  sync(input: DesiredInput): SyncResult {
    const started = performance.now();
    const nodes = desiredNodes(input.localNode, input.nodeAddresses);
    this.c.localNodeId = nodeIdForAddress(input.localNode.address);
    const nodesChanged = !this.ctx || !sameMap(nodes.byId, this.wantNodes) || !sameMap(nodes.idByName, this.ctx.nodeIdByName);
    const ctx = nodesChanged ? desiredContext(nodes.idByName, { maglevMaxSize: this.c.maxSize }) : this.ctx as DesiredContext;
    const changes = this.c.applied.changedServices(input.plan.frontends, ctx, nodesChanged);
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
    return this.run(started, this.c.applied.changesFor(changes, this.ctx), null);
  }

  /**
   * Deletes TERMINATING backends whose grace is over (SyncResult.nextSweepAt)
   * and nodes nothing needs any more. Null before the first sync: no plan yet
   * is not an empty plan.
   */
  sweep(): SyncResult | null {
    return this.synced ? this.run(performance.now(), new Map(), null) : null;
  }

  /**
   * Reads every map back and rewrites whatever differs from what was applied
   * (an entry changed or deleted by hand, a table element changed), removing
   * what no service wants. The result counts the repairs. Null before the
   * first sync.
   */
  resync(): SyncResult | null {
    if (!this.synced) return null;
    this.fullSync.request('resync');
    return this.run(performance.now(), new Map(), null);
  }

  private run(started: number, changes: Map<string, ServiceDesired | null>, nodes: Map<number, string> | null): SyncResult {
    if (this.fullSync.rereadMaps) {
      // Only the maps know what they hold: read them back, then compare every service.
      const all = new Map<string, ServiceDesired>(this.unapplied ?? this.c.applied.services);
      for (const [s, d] of changes) {
        if (d) all.set(s, d);
        else all.delete(s);
      }
      this.unapplied = all;
      changes = new Map(all);
      nodes ??= this.wantNodes;
      // After a failed write the ids in memory may name entries never written: only the maps count then.
      const trusted = this.fullSync.has('write-failure') ? undefined : this.c.ids;
      const { held, ids, adopted } = adoptMaps(this.maps, this.now(), this.c.held.terminatingSince, trusted);
      Object.assign(this.c, { held, ids, adopted, applied: new AppliedServices() });
    }
    try {
      const counts = emptyCounts();
      const news = applyChanges(this.c, changes, nodes, this.wantNodes, this.now(), counts);
      if (nodes) this.wantNodes = nodes;
      this.unapplied = null;
      this.synced = true;
      if (this.ownsFullSync) this.fullSync.done();
      return {
        ...counts, servicesChanged: changes.size, warnings: news.flatMap((s) => s.warnings), nextSweepAt: nextSweepAt(this.c),
        durationMs: performance.now() - started,
      };
    } catch (e) {
      this.fullSync.request('write-failure');
      // Not applied: the next sync must not take these services' frontends for ones it has seen through.
      for (const s of changes.keys()) this.c.applied.forget(s);
      throw e;
    }
  }
}
