/**
 * Kept only while src/plan/incremental.ts and src/agent/sync.ts still import
 * ClusterState from here; the types live in src/api/types.ts.
 */
export type { ClusterState, V1EndpointSlice, V1Node, V1Service } from '../api/types.js';
