/** Plan -> maps (DESIGN.md §3): Maglev tables, the desired state, the reconciler. */
export {
  MAGLEV_SLOTS_PER_BACKEND, maglevPermutation, maglevTable, maglevTableOf, maglevTableSize, type MaglevBackend,
} from './maglev.js';
export { isPrime, primeAtLeast, primeAtMost } from './primes.js';
export { nodeIdForAddress } from './node-ids.js';
export { IdAllocator } from './ids.js';
export {
  allBackends, allFrontends, allGroups, allWarnings, backendKey, buildDesiredState, buildServiceDesired, desiredContext,
  desiredNodes, frontendsByService, lbKeyString, PROTOCOL_NUMBERS, sameServiceDesired, type DesiredBackend,
  type DesiredContext, type DesiredFrontend, type DesiredGroup, type DesiredInput, type DesiredOptions, type DesiredState,
  type DesiredWarning, type ServiceDesired, type SourceRange,
} from './desired.js';
export {
  DEFAULT_TERMINATING_GRACE_MS, Reconciler, type MapChanges, type ReconcilerOptions, type SyncResult,
} from './reconciler.js';
