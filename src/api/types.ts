/**
 * The Kubernetes objects the plan reads and the sources deliver, in one
 * module below both: the sources (src/k8s) fill a ClusterState, the plan
 * (src/plan) reads it, and neither imports the other.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';

/**
 * What the sources (informers or a manifests directory) hand to the plan:
 * the current set of objects, each map keyed by "namespace/name" (Nodes by name).
 */
export interface ClusterState {
  readonly services: ReadonlyMap<string, V1Service>;
  readonly endpointSlices: ReadonlyMap<string, V1EndpointSlice>;
  readonly nodes: ReadonlyMap<string, V1Node>;
}

export type { V1EndpointSlice, V1Node, V1Service };
