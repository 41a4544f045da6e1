/**
 * A backend's life after it leaves the plan: flagged TERMINATING (flows
 * already on it keep it, new flows never pick it), then freed once its grace
 * is over, its slot keeping its generation so flow and affinity entries naming
 * it go stale instead of following the id to the next backend in that slot.
 */
import { freedSlot } from '../bpf/backend-slots.js';
import { DSRLB_BE_F_TERMINATING } from '../bpf/consts.generated.js';
import type { Lb4Backend } from '../bpf/codecs/services.js';
import { backendKeyOf, type BackendKey } from '../model/keys.js';
import type { ReconcileContext } from './context.js';
import type { ServiceDesired } from './desired-types.js';
import type { Counts } from './result.js';

/** Backends no group lists any more: TERMINATING from now on. */
export function retireBackends(c: ReconcileContext, olds: readonly ServiceDesired[], now: number, res: Counts): void {
  const { held, ids } = c;
  const candidates = new Set<number>();
  for (const o of olds) {
    for (const g of o.groups) {
      for (const b of g.backends) {
        const id = ids.backend.get(b.key);
        if (id !== undefined) candidates.add(id);
      }
    }
  }
  for (const id of c.adopted?.backends ?? []) candidates.add(id);
  const terminate: [number, Lb4Backend][] = [];
  for (const id of candidates) {
    const cur = held.backends.get(id);
    if (!cur || (cur.flags & DSRLB_BE_F_TERMINATING)) continue;
    // An id without an identity is a duplicate found at adoption: never wanted.
    const key = ids.backend.keyOf(id);
    if (key !== undefined && c.applied.backendRefs.has(key as BackendKey)) continue;
    terminate.push([id, { ...cur, flags: cur.flags | DSRLB_BE_F_TERMINATING }]);
  }
  c.maps.backends.updateBatch(terminate);
  for (const [id, v] of terminate) {
    held.backends.set(id, v);
    held.terminatingSince.set(id, now);
  }
  res.backends.terminated = terminate.length;
}

/** TERMINATING backends whose grace is over are freed; returns how many. */
export function expireBackends(c: ReconcileContext, now: number, res: Counts): number {
  const { held, ids } = c;
  const expired: number[] = [];
  for (const [id, since] of held.terminatingSince) if (now - since >= c.graceMs) expired.push(id);
  // Freed, not deleted (an array): the slot keeps its generation.
  c.maps.backends.updateBatch(expired.map((id) => [id, freedSlot(held.backends.get(id)?.generation ?? 0)]));
  for (const id of expired) {
    const cur = held.backends.get(id);
    held.backends.delete(id);
    held.terminatingSince.delete(id);
    if (cur) {
      const key = backendKeyOf(cur);
      if (ids.backend.get(key) === id) ids.backend.release(key);
    }
    ids.backend.unreserve(id);
  }
  res.backends.deleted = expired.length;
  return expired.length;
}

/** When the next TERMINATING backend is due (ms), or null. */
export function nextSweepAt(c: ReconcileContext): number | null {
  let next: number | null = null;
  for (const t of c.held.terminatingSince.values()) {
    const due = t + c.graceMs;
    if (next === null || due < next) next = due;
  }
  return next;
}
