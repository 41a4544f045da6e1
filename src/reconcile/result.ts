/** What a sync wrote, as the reconciler reports it. */
import type { DesiredWarning } from './desired-types.js';

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
  /** lb4_backend_frontends entries. */
  readonly backendFrontends: MapChanges;
  readonly sourceRanges: MapChanges;
  readonly nodes: MapChanges;
  readonly tables: {
    created: number; replaced: number; updated: number; deleted: number; unchanged: number;
    /** Elements written into tables (new, replaced or updated in place). */
    elementsWritten: number;
    /** Tables that became their service's previous one (lb4_maglev_prev). */
    previousKept: number;
  };
  /** lb4_frontends slots written or freed. */
  readonly frontendSlots: MapChanges;
  /** lb4_port_filter words written. */
  readonly portFilter: { written: number };
  /** Warnings of the services this sync changed (all of them: `Reconciler.warnings()`). */
  readonly warnings: readonly DesiredWarning[];
  /** When a TERMINATING backend is next due for deletion (ms, same clock as `now`): call sweep() then. */
  readonly nextSweepAt: number | null;
  readonly durationMs: number;
}

export type Counts = Pick<SyncResult, 'services' | 'revnat' | 'backends' | 'localBackends' | 'backendFrontends' | 'sourceRanges' | 'nodes' | 'tables' | 'frontendSlots' | 'portFilter'>;

export function emptyCounts(): Counts {
  return {
    services: { written: 0, deleted: 0 },
    revnat: { written: 0, deleted: 0 },
    backends: { written: 0, deleted: 0, terminated: 0 },
    localBackends: { written: 0, deleted: 0 },
    backendFrontends: { written: 0, deleted: 0 },
    sourceRanges: { written: 0, deleted: 0 },
    nodes: { written: 0, deleted: 0 },
    tables: { created: 0, replaced: 0, updated: 0, deleted: 0, unchanged: 0, elementsWritten: 0, previousKept: 0 },
    frontendSlots: { written: 0, deleted: 0 },
    portFilter: { written: 0 },
  };
}

/** Entries a sync wrote or deleted, by map: what a resync repaired. */
export function changesByMap(r: Counts): Record<string, number> {
  return {
    lb4_services: r.services.written + r.services.deleted,
    lb4_revnat: r.revnat.written + r.revnat.deleted,
    lb4_backends: r.backends.written + r.backends.deleted + r.backends.terminated,
    lb4_local_backends: r.localBackends.written + r.localBackends.deleted,
    lb4_backend_frontends: r.backendFrontends.written + r.backendFrontends.deleted,
    lb4_source_ranges: r.sourceRanges.written + r.sourceRanges.deleted,
    nodes: r.nodes.written + r.nodes.deleted,
    lb4_maglev: r.tables.created + r.tables.replaced + r.tables.updated + r.tables.deleted,
    lb4_frontends: r.frontendSlots.written + r.frontendSlots.deleted,
    lb4_port_filter: r.portFilter.written,
  };
}
