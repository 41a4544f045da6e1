/**
 * "The next sync is full" (kube-proxy's needFullSync), owned in one place.
 * Every stage of the sync pipeline (plan cache, reconciler, the agent's
 * pipeline) asks this object instead of keeping its own flag, and any of them
 * requests a full sync when it can no longer trust what it knows: a failure,
 * a restart, a topology change, the periodic resync. Only the owner, whoever
 * completes a whole pass (the pipeline; a stage used alone), clears it.
 */

export type FullSyncReason =
  /** Nothing has been synced yet. */
  | 'start'
  /** A source handed its whole state over again (a restart of the source). */
  | 'source-restart'
  /** Nodes changed: every backend's node id may have. */
  | 'topology'
  /** Planning failed part way: the plan cache's indexes may be half-updated. */
  | 'plan-failure'
  /** A map write failed part way: what the reconciler holds in memory may not be what the maps hold. */
  | 'write-failure'
  /** The periodic resync: compare the maps themselves with the plan. */
  | 'resync';

export class FullSync {
  private readonly pending = new Set<FullSyncReason>(['start']);

  /** True when the next sync must go through the whole plan. */
  get needed(): boolean { return this.pending.size > 0; }

  /** True when the maps must be read back before comparing (their contents are in doubt). */
  get rereadMaps(): boolean { return this.pending.has('write-failure') || this.pending.has('resync'); }

  reasons(): FullSyncReason[] { return [...this.pending]; }

  has(reason: FullSyncReason): boolean { return this.pending.has(reason); }

  request(reason: FullSyncReason): void { this.pending.add(reason); }

  /** A whole pass went through: the next sync may be incremental. */
  done(): void { this.pending.clear(); }
}
