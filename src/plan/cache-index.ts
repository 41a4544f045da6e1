/**
 * What a change invalidates: the plan cache's indexes from EndpointSlices to
 * the Services they belong to, by the objects' own namespace and name (as
 * buildPlanReport matches them). A changed Service invalidates itself; a
 * changed slice invalidates the Service its kubernetes.io/service-name label
 * names now and the one it named before. Nodes are the cache's business (the
 * plan reads none; only this node, through the PlanNode).
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ClusterState } from '../api/types.js';
import { NONE } from './cache-part.js';
import { sliceServiceKey } from './endpoints.js';

/** Keys added, modified or removed, per collection (a StateChange's `changed`). */
export interface PlanChanges {
  readonly services?: Iterable<string>;
  readonly endpointSlices?: Iterable<string>;
  readonly nodes?: Iterable<string>;
}

export class ChangeIndex {
  /** Service identity -> ClusterState keys of the Services with it (one, unless keys disagree with metadata). */
  private readonly servicesByIdentity = new Map<string, string[]>();
  /** Slice ClusterState key -> identity of the Service it belongs to (only slices that belong to one). */
  private readonly sliceOwner = new Map<string, string>();
  /** Service identity -> its slices' ClusterState keys. */
  private readonly slicesByIdentity = new Map<string, string[]>();

  /** Forgets everything and indexes every slice of `state`; returns the slice objects by their Service's identity. */
  reset(state: ClusterState): Map<string, V1EndpointSlice[]> {
    this.servicesByIdentity.clear();
    this.sliceOwner.clear();
    this.slicesByIdentity.clear();
    const sliceObjects = new Map<string, V1EndpointSlice[]>();
    for (const [key, slice] of state.endpointSlices) {
      const identity = sliceServiceKey(slice);
      if (identity === null) continue;
      this.sliceOwner.set(key, identity);
      addTo(this.slicesByIdentity, identity, key);
      const list = sliceObjects.get(identity);
      if (list) list.push(slice);
      else sliceObjects.set(identity, [slice]);
    }
    return sliceObjects;
  }

  addService(identity: string, key: string): void {
    addTo(this.servicesByIdentity, identity, key);
  }

  removeService(identity: string, key: string): void {
    removeFrom(this.servicesByIdentity, identity, key);
  }

  /** Records the slices' moves and returns the ClusterState keys of the Services to plan again. */
  invalidated(state: ClusterState, changed: PlanChanges): Set<string> {
    const affected = new Set<string>(changed.services ?? NONE);
    const touchedIdentities = new Set<string>();
    for (const key of changed.endpointSlices ?? NONE) {
      const before = this.sliceOwner.get(key);
      const slice = state.endpointSlices.get(key);
      const after = slice ? sliceServiceKey(slice) : null;
      if (before === after) {
        if (after !== null) touchedIdentities.add(after);
        continue;
      }
      if (before !== undefined) {
        removeFrom(this.slicesByIdentity, before, key);
        touchedIdentities.add(before);
      }
      if (after !== null) {
        this.sliceOwner.set(key, after);
        addTo(this.slicesByIdentity, after, key);
        touchedIdentities.add(after);
      } else {
        this.sliceOwner.delete(key);
      }
    }
    for (const identity of touchedIdentities) {
      for (const key of this.servicesByIdentity.get(identity) ?? NONE) affected.add(key);
    }
    return affected;
  }

  /** The slice objects of the Service with `identity`. */
  slicesOf(state: ClusterState, identity: string): V1EndpointSlice[] {
    const keys = this.slicesByIdentity.get(identity);
    if (!keys) return [];
    const out: V1EndpointSlice[] = [];
    for (const key of keys) {
      const s = state.endpointSlices.get(key);
      if (s) out.push(s);
    }
    return out;
  }
}

/** Index lists are short (a Service's slices; usually one Service per identity): arrays beat Sets. */
function addTo(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) index.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

function removeFrom(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) return;
  const i = list.indexOf(value);
  if (i < 0) return;
  if (list.length === 1) index.delete(key);
  else list.splice(i, 1);
}
