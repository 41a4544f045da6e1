/**
 * The ClusterState a source maintains, updated one object at a time (never
 * rebuilt), with the keys touched since the last hand-over so the consumer can
 * work incrementally.
 */
import type { ClusterState, V1EndpointSlice, V1Node, V1Service } from '../api/types.js';

/** The three collections, named as in ClusterState. */
export type ResourceKind = keyof ClusterState;
export const RESOURCE_KINDS: readonly ResourceKind[] = ['services', 'endpointSlices', 'nodes'];

export interface ObjectOf {
  services: V1Service;
  endpointSlices: V1EndpointSlice;
  nodes: V1Node;
}

/** Keys added, modified or removed since the previous hand-over. */
export type ChangedKeys = { readonly [K in ResourceKind]: ReadonlySet<string> };

export class ClusterStore {
  private readonly maps = { services: new Map<string, V1Service>(), endpointSlices: new Map<string, V1EndpointSlice>(), nodes: new Map<string, V1Node>() };
  private dirty = emptyDirty();
  private firstDirtyAt: number | undefined;

  /**
   * Live read-only views of the maps. They change only when the source applies
   * an event, never during a consumer's synchronous onChange.
   */
  readonly state: ClusterState = this.maps;

  get<K extends ResourceKind>(kind: K, key: string): ObjectOf[K] | undefined {
    return (this.maps[kind] as Map<string, ObjectOf[K]>).get(key);
  }

  set<K extends ResourceKind>(kind: K, key: string, obj: ObjectOf[K]): void {
    (this.maps[kind] as Map<string, ObjectOf[K]>).set(key, obj);
    this.touch(kind, key);
  }

  /** False when the key was not there. */
  delete(kind: ResourceKind, key: string): boolean {
    if (!this.maps[kind].delete(key)) return false;
    this.touch(kind, key);
    return true;
  }

  keys(kind: ResourceKind): IterableIterator<string> {
    return this.maps[kind].keys();
  }

  get pending(): boolean {
    return this.firstDirtyAt !== undefined;
  }

  /** performance.now() of the oldest change not yet handed over. */
  get pendingSince(): number | undefined {
    return this.firstDirtyAt;
  }

  /** Hands over the changed keys and starts a new batch. */
  takeChanges(): ChangedKeys {
    const out = this.dirty;
    this.dirty = emptyDirty();
    this.firstDirtyAt = undefined;
    return out;
  }

  private touch(kind: ResourceKind, key: string): void {
    this.dirty[kind].add(key);
    this.firstDirtyAt ??= performance.now();
  }
}

function emptyDirty(): { [K in ResourceKind]: Set<string> } {
  return { services: new Set(), endpointSlices: new Set(), nodes: new Set() };
}

/** A copy for a consumer that keeps state across an await. */
export function cloneState(state: ClusterState): ClusterState {
  return { services: new Map(state.services), endpointSlices: new Map(state.endpointSlices), nodes: new Map(state.nodes) };
}
