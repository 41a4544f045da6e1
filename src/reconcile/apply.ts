/**
 * The ordered apply: one sync's changes written make-before-break.
 *
 *   0. lb4_port_filter: ports gaining their first frontend stop being
 *      filtered (a set bit would let their packets pass without a lookup);
 *   1. nodes and node_addrs gain new nodes;
 *   2. lb4_backends gains new backends (a returning one loses TERMINATING),
 *      lb4_local_backends the local ones (local-backends.ts);
 *   3. lb4_source_ranges gains new ranges;
 *   4. Maglev tables: rewritten in place when the inner map has room for the
 *      new size (only the elements that differ when the size is the same),
 *      else built in a new inner map and, when new or growing, swapped in;
 *   5. lb4_revnat, then 6. lb4_services take the new values (each lb4_frontends
 *      slot just before the entry it mirrors);
 *   7. new inner maps for tables that shrank are swapped in;
 *   8. only then: stale frontends, revnat entries, tables and ranges are
 *      deleted; backends no longer used are marked TERMINATING (existing flows
 *      keep them, new flows never pick them) and deleted after
 *      `terminatingGraceMs`; nodes go when nothing references them, and
 *      lb4_local_backends entries when their backend or service id does
 *      (then config.local_epoch moves on: local-epoch.ts);
 *   9. lb4_port_filter: ports that lost their last frontend are filtered
 *      again (after an adoption: exactly the ports the frontends use);
 *      lb4_backend_frontends follows the local backends and their frontends
 *      (only read when a reply misses its reverse-NAT state: no order needed).
 * A frontend reads {service id, maglev_size} atomically from its lb4_services
 * entry; this order keeps every slot index it can compute inside the table it
 * finds, and every backend id in that table present in lb4_backends
 * (test/unit/reconcile-order.test.ts checks it after every single map write,
 * against the in-memory maps; test/bpf/reconcile.test.ts against the kernel's).
 *
 * Cost: every update of a map-of-maps (lb4_maglev) waits for an RCU grace
 * period in the kernel (synchronize_rcu: ~10 ms here), so lb4_maglev is only
 * written in batches (at most three per sync), and tables are resized in
 * place whenever their inner map has room (an inner map keeps its capacity
 * when its table shrinks, so growing back is in place too).
 */
import type { ReconcileContext } from './context.js';
import { deleteFrontends, deleteRanges, deleteUnusedNodes, releaseGoneGroups } from './deletes.js';
import type { ServiceDesired } from './desired-types.js';
import { expireBackends, retireBackends } from './lifecycle.js';
import { bumpLocalEpoch } from './local-epoch.js';
import type { Counts } from './result.js';
import { deleteTables, TableWrites } from './tables.js';
import { wanted } from './wanted.js';
import { writeBackends, writeNodes, writeRanges, writeRevnat, writeServices } from './writes.js';

/**
 * Writes `changes` (service -> its new state, or null to remove it) and
 * `nodes` (null: unchanged, `lastNodes` stand) in the order above, then
 * records them as applied. Returns the services' new states.
 */
export function applyChanges(c: ReconcileContext, changes: ReadonlyMap<string, ServiceDesired | null>,
  nodes: ReadonlyMap<number, string> | null, lastNodes: ReadonlyMap<number, string>, now: number, res: Counts): ServiceDesired[] {
  const olds: ServiceDesired[] = [];
  const news: ServiceDesired[] = [];
  for (const [s, next] of changes) {
    const prev = c.applied.services.get(s);
    if (prev) olds.push(prev);
    if (next) news.push(next);
  }
  const frontends = c.applied.updateOwnership(olds, news);
  const want = wanted(c, news);

  res.portFilter.written += c.held.portFilter.open(frontends.added);
  if (nodes) writeNodes(c, nodes, res);
  writeBackends(c, want.backends, res);
  res.localBackends.written = c.held.localBackends.update([...changes.keys()], want.local);
  writeRanges(c, want.ranges, res);
  const tables = new TableWrites(c);
  try {
    tables.write(want, res);
    writeRevnat(c, want, res);
    writeServices(c, want, res);
    tables.swapShrunk(res);
  } finally {
    tables.close();
  }

  deleteFrontends(c, olds, res);
  const goneGroups = releaseGoneGroups(c, olds, want.groupIds);
  deleteTables(c, want, goneGroups, res);
  deleteRanges(c, want, goneGroups, res);
  retireBackends(c, olds, now, res);
  const expired = expireBackends(c, now, res);
  res.localBackends.deleted = c.held.localBackends.prune(c.held.backends, c.localNodeId);
  const bf = c.held.backendFrontends.update([...changes.keys()], want.backendFrontends, c.adopted !== null);
  res.backendFrontends.written += bf.written;
  res.backendFrontends.deleted += bf.deleted;
  if (res.services.deleted > 0 || res.localBackends.deleted > 0 || c.frontendMoved) bumpLocalEpoch(c.maps.config);
  c.frontendMoved = false;
  if (nodes || expired > 0) deleteUnusedNodes(c, nodes ?? lastNodes, res);
  res.portFilter.written += c.adopted ? c.held.portFilter.match() : c.held.portFilter.close(frontends.removed);

  c.applied.commit(changes);
  c.adopted = null;
  return news;
}
