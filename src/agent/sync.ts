/**
 * The sync pipeline: source hand-overs -> incremental plan -> reconcile.
 * Pure steps come from src/plan (PlanCache) and src/reconcile (Reconciler);
 * this file strings them together the one way the agent and the control-plane
 * benchmark both use. It owns the pipeline's FullSync (src/model/full-sync.ts):
 * the plan cache and the reconciler request full syncs through it, and only
 * a whole pass that went through clears it.
 */
import { performance } from 'node:perf_hooks';
import type { ClusterState } from '../api/types.js';
import type { StateChange } from '../k8s/source.js';
import type { FullSync } from '../model/full-sync.js';
import { PlanCache, type PlanUpdate } from '../plan/incremental.js';
import { nodeAddressForFamily, resolvePlanNode } from '../plan/index.js';
import type { Frontend } from '../plan/types.js';
import type { CapacityGate, Rejection } from '../reconcile/capacity.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { SyncResult } from '../reconcile/result.js';

export interface LocalNode { readonly name: string; readonly address: string }

export interface SyncOutcome {
  readonly update: PlanUpdate;
  /** Null when nothing reached the maps (no service changed). */
  readonly result: SyncResult | null;
  /** The whole plan went to the reconciler (first hand-over, node changes, after a failure). */
  readonly full: boolean;
  /** IPv4 of every node by name, this one included. */
  readonly nodeAddresses: ReadonlyMap<string, string>;
  /** Services (partly) left out of the maps for want of room, by name. */
  readonly rejected: readonly Rejection[];
  /** performance.now() marks: plan computed, maps written. */
  readonly plannedAt: number;
  readonly syncedAt: number;
}

export class SyncPipeline {
  readonly cache: PlanCache;
  /** The reconciler's table worker thread: null once it runs, or the error that stopped it (tables are then built inline). */
  readonly tableWorker: Promise<Error | null>;
  private readonly addresses = new Map<string, string>();

  /**
   * @param fullSync the one the reconciler was opened with
   * @param alwaysFull hand the whole plan over on every change (the benchmark's comparison)
   * @param capacity admits Services up to what the maps hold; `inMaps` (frontendKey-like match) keeps
   *   the Services the maps already serve admitted first at the first sync
   */
  constructor(private readonly local: LocalNode, private readonly reconciler: Reconciler, private readonly fullSync: FullSync,
    private readonly alwaysFull = false,
    private readonly capacity?: { readonly gate: CapacityGate; readonly inMaps: (f: Frontend) => boolean }) {
    // The maps are IPv4: plan IPv4 only, as a single-stack kube-proxy would.
    this.cache = new PlanCache((state) => resolvePlanNode(state, { name: local.name, addresses: [local.address] }), { ipFamilies: ['IPv4'] },
      { fullSync });
    this.addresses.set(local.name, local.address);
    // Started now, so it is up long before the first sync (the sources list first).
    this.tableWorker = reconciler.startTableWorker();
  }

  private refreshAddresses(state: ClusterState, names: Iterable<string>): void {
    for (const name of names) {
      if (name === this.local.name) continue; // a manifests dir may have no Node object for this node
      const address = nodeAddressForFamily(state.nodes.get(name), 'IPv4');
      if (address) this.addresses.set(name, address);
      else this.addresses.delete(name);
    }
  }

  handle(state: ClusterState, change: StateChange): SyncOutcome {
    const initial = change.reason === 'initial';
    if (initial) this.fullSync.request('source-restart');
    const update = this.cache.update(state, change.changed);
    const plannedAt = performance.now();
    if (initial) {
      for (const name of [...this.addresses.keys()]) if (name !== this.local.name && !state.nodes.has(name)) this.addresses.delete(name);
    }
    this.refreshAddresses(state, initial ? state.nodes.keys() : change.changed.nodes);
    // Node addresses feed every backend's node id: a node change goes through the whole plan.
    if (change.changed.nodes.size > 0) this.fullSync.request('topology');
    const full = this.fullSync.needed || update.full || this.alwaysFull;
    let result: SyncResult | null = null;
    try {
      if (full) {
        const plan = update.report.plan;
        const admission = this.capacity?.gate.full(plan.frontends, this.capacity.inMaps);
        const admitted = admission ? { ...plan, frontends: admission.admitted } : plan;
        result = this.reconciler.sync({ plan: admitted, localNode: this.local, nodeAddresses: this.addresses });
      } else if (update.services.size > 0) {
        const changes = new Map<string, readonly Frontend[]>();
        for (const service of update.services) changes.set(service, this.cache.frontendsOf(service));
        const admission = this.capacity?.gate.update(changes);
        result = this.reconciler.updateServices(admission?.admitted ?? changes);
      }
      // Room freed by this sync is free now that it is written: admit what waited for it.
      if (this.capacity?.gate.roomFreed) {
        const again = this.capacity.gate.update(new Map());
        if (again.admitted.size > 0) result = this.reconciler.updateServices(again.admitted);
      }
    } catch (e) {
      // The plan cache moved on: the next hand-over goes through the whole plan, comparing with the maps themselves.
      this.fullSync.request('write-failure');
      throw e;
    }
    this.fullSync.done();
    const rejected = this.capacity?.gate.rejections() ?? [];
    return { update, result, full, nodeAddresses: this.addresses, rejected, plannedAt, syncedAt: performance.now() };
  }

  /**
   * The periodic resync: the maps are read back and whatever differs from
   * the plan last applied is rewritten. Null before the first sync.
   */
  resync(): SyncResult | null {
    // Something else pending wants a whole pass through the plan: leave the flag to the next hand-over.
    const pending = this.fullSync.needed;
    const result = this.reconciler.resync();
    if (result && !pending) this.fullSync.done();
    return result;
  }
}
