/** Plan -> maps: Maglev tables, the desired state, the reconciler behind its map interface. */
export {
  MAGLEV_SLOTS_PER_BACKEND, maglevMaxLadderSize, maglevPermutation, maglevTable, maglevTableOf, maglevTableSize, type MaglevBackend,
} from './maglev.js';
export { nodeIdForAddress } from './node-ids.js';
export { IdAllocator } from './ids.js';
export {
  allBackends, allFrontends, allGroups, allWarnings, buildDesiredState, buildServiceDesired, desiredContext,
  desiredNodes, frontendsByService, type DesiredContext, type DesiredInput, type DesiredOptions,
} from './desired.js';
export type {
  DesiredBackend, DesiredFrontend, DesiredGroup, DesiredState, DesiredWarning, ServiceDesired, SourceRange,
} from './desired-types.js';
export { sameServiceDesired } from './equality.js';
export { DEFAULT_TERMINATING_GRACE_MS, Reconciler, type ReconcilerOptions } from './reconciler.js';
export { changesByMap, type MapChanges, type SyncResult } from './result.js';
export type { LbMap, LbMaps, MaglevMaps, SlotMap } from './maps/lb-maps.js';
