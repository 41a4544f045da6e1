/**
 * Step 8 of the ordered apply (apply.ts), now that nothing points at what
 * goes: stale frontends and their revnat entries, the ids of groups that are
 * gone, source ranges, nodes nothing needs. (Tables: tables.ts; backends:
 * lifecycle.ts.)
 */
import type { Lb4SourceRangeKey } from '../bpf/codecs/source-ranges.js';
import { frontendKeyOf, type FrontendKey, type SourceRangeKey } from '../model/keys.js';
import type { ReconcileContext } from './context.js';
import type { ServiceDesired } from './desired-types.js';
import type { ServiceEntry } from './held.js';
import type { Counts } from './result.js';
import type { Wanted } from './wanted.js';

/** Frontends (and their revnat entries) no service owns any more. */
export function deleteFrontends(c: ReconcileContext, olds: readonly ServiceDesired[], res: Counts): void {
  const { held, ids, adopted } = c;
  const owner = c.applied.frontendOwner;
  const candidates = olds.flatMap((o) => o.frontends.map((f) => f.key));
  if (adopted) candidates.push(...adopted.services);
  const stale: ServiceEntry[] = [];
  const seen = new Set<string>();
  for (const k of candidates) {
    if (seen.has(k)) continue;
    seen.add(k);
    const cur = held.services.get(k);
    if (cur && !owner.has(k)) stale.push(cur);
  }
  held.frontendSlots.free(stale.map((e) => e.value.revnatId), res.frontendSlots);
  c.maps.services.deleteBatch(stale.map((e) => e.key));
  for (const e of stale) {
    const k = frontendKeyOf(e.key);
    held.services.delete(k);
    ids.revnat.release(k);
  }
  res.services.deleted = stale.length;
  if (adopted) held.frontendSlots.match([...held.services.values()].map((e) => [e.key, e.value] as const), res.frontendSlots);

  const revnatCandidates = stale.map((e) => e.value.revnatId);
  if (adopted) revnatCandidates.push(...adopted.revnat);
  const staleRevnat = [...new Set(revnatCandidates)].filter((id) => {
    if (!held.revnat.has(id)) return false;
    const key = ids.revnat.keyOf(id);
    return key === undefined || !owner.has(key as FrontendKey);
  });
  c.maps.revnat.deleteBatch(staleRevnat);
  for (const id of staleRevnat) {
    held.revnat.delete(id);
    ids.revnat.unreserve(id);
  }
  res.revnat.deleted = staleRevnat.length;
}

/** Groups of the changed services that no longer exist: their ids are released. */
export function releaseGoneGroups(c: ReconcileContext, olds: readonly ServiceDesired[], groupIdsNow: ReadonlySet<number>): Set<number> {
  const gone = new Set<number>();
  for (const o of olds) {
    for (const g of o.groups) {
      const sid = c.ids.service.get(g.key);
      if (sid === undefined || groupIdsNow.has(sid)) continue;
      gone.add(sid);
      c.ids.service.release(g.key);
    }
  }
  return gone;
}

export function deleteRanges(c: ReconcileContext, want: Wanted, gone: ReadonlySet<number>, res: Counts): void {
  const { held, ids, adopted } = c;
  const stale: SourceRangeKey[] = [];
  const consider = (k: SourceRangeKey, key: Lb4SourceRangeKey): void => {
    if (want.ranges.has(k)) return;
    const ours = gone.has(key.serviceId) || want.groupIds.has(key.serviceId);
    const orphan = adopted !== null && ids.service.keyOf(key.serviceId) === undefined;
    if (ours || orphan) stale.push(k);
  };
  if (gone.size > 0 || want.groupIds.size > 0 || adopted) for (const [k, key] of held.ranges) consider(k, key);
  for (const k of stale) {
    c.maps.sourceRanges.delete(held.ranges.get(k) as Lb4SourceRangeKey);
    held.ranges.delete(k);
  }
  res.sourceRanges.deleted = stale.length;
  for (const sid of gone) ids.service.unreserve(sid);
}

/** Nodes not in the cluster that no remaining backend encapsulates to. */
export function deleteUnusedNodes(c: ReconcileContext, nodes: ReadonlyMap<number, string>, res: Counts): void {
  const held = c.held;
  let candidates = false;
  for (const id of held.nodes.keys()) if (!nodes.has(id)) candidates = true;
  for (const [address, id] of held.nodeAddrs) if (nodes.get(id) !== address) candidates = true;
  if (!candidates) return;
  const inUse = new Set<number>(nodes.keys());
  for (const b of held.backends.values()) inUse.add(b.nodeId);
  const staleNodes = [...held.nodes.keys()].filter((id) => !inUse.has(id));
  c.maps.nodes.deleteBatch(staleNodes);
  for (const id of staleNodes) held.nodes.delete(id);
  const addrsInUse = new Set<string>();
  for (const id of inUse) {
    const a = held.nodes.get(id) ?? nodes.get(id);
    if (a !== undefined) addrsInUse.add(a);
  }
  const staleAddrs = [...held.nodeAddrs.keys()].filter((a) => !addrsInUse.has(a));
  c.maps.nodeAddrs.deleteBatch(staleAddrs);
  for (const a of staleAddrs) held.nodeAddrs.delete(a);
  res.nodes.deleted = staleNodes.length + staleAddrs.length;
}
