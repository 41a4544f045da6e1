/** Steps 1, 2, 3, 5 and 6 of the ordered apply (apply.ts): what the changed services add or change. */
import type { Lb4Backend, Lb4Key, Lb4Revnat, Lb4Service } from '../bpf/codecs/services.js';
import type { Lb4SourceRangeKey } from '../bpf/codecs/source-ranges.js';
import { frontendKeyOf, type SourceRangeKey } from '../model/keys.js';
import type { ReconcileContext } from './context.js';
import { sameBackend, sameRevnat, sameService } from './equality.js';
import type { Counts } from './result.js';
import type { Wanted } from './wanted.js';

/** 1. Every node and its address (new ones first; stale ones go in deleteUnusedNodes). */
export function writeNodes(c: ReconcileContext, nodes: ReadonlyMap<number, string>, res: Counts): void {
  const held = c.held;
  const nodeWrites: [number, { address: string }][] = [];
  const addrWrites: [string, number][] = [];
  for (const [id, address] of nodes) {
    if (held.nodes.get(id) !== address) nodeWrites.push([id, { address }]);
    if (held.nodeAddrs.get(address) !== id) addrWrites.push([address, id]);
  }
  c.maps.nodes.updateBatch(nodeWrites);
  for (const [id, v] of nodeWrites) held.nodes.set(id, v.address);
  c.maps.nodeAddrs.updateBatch(addrWrites);
  for (const [a, id] of addrWrites) held.nodeAddrs.set(a, id);
  res.nodes.written = nodeWrites.length + addrWrites.length;
}

/** 2. Backends the changed services list, active. */
export function writeBackends(c: ReconcileContext, want: ReadonlyMap<number, Lb4Backend>, res: Counts): void {
  const held = c.held;
  const writes: [number, Lb4Backend][] = [];
  // want's values are this sync's own objects: completed in place, iterated
  // without entry arrays (a cold start writes 100,000 of them).
  want.forEach((b, id) => {
    const cur = held.backends.get(id);
    if (cur && sameBackend(cur, b)) return;
    b.generation = cur ? cur.generation : ++held.generation;
    writes.push([id, b]);
  });
  c.maps.backends.updateBatch(writes);
  for (const [id, v] of writes) {
    held.backends.set(id, v);
    held.terminatingSince.delete(id);
  }
  res.backends.written = writes.length;
}

/** 3. Source ranges the changed services add. */
export function writeRanges(c: ReconcileContext, want: ReadonlyMap<SourceRangeKey, Lb4SourceRangeKey>, res: Counts): void {
  for (const [k, key] of want) {
    if (c.held.ranges.has(k)) continue;
    c.maps.sourceRanges.update(key, 1);
    c.held.ranges.set(k, key);
    res.sourceRanges.written++;
  }
}

/** 5. Reverse NAT entries of the changed frontends. */
export function writeRevnat(c: ReconcileContext, want: Wanted, res: Counts): void {
  const writes: [number, Lb4Revnat][] = [];
  for (const [id, r] of want.revnat) {
    const cur = c.held.revnat.get(id);
    if (!cur || !sameRevnat(cur, r)) writes.push([id, r]);
  }
  c.maps.revnat.updateBatch(writes);
  for (const [id, v] of writes) c.held.revnat.set(id, v);
  res.revnat.written = writes.length;
}

/** 6. The frontends themselves (their lb4_frontends slots just before). */
export function writeServices(c: ReconcileContext, want: Wanted, res: Counts): void {
  const writes: [Lb4Key, Lb4Service][] = [];
  for (const [k, s] of want.services) {
    const cur = c.held.services.get(k);
    if (!cur || !sameService(cur.value, s.value)) writes.push([s.key, s.value]);
    if (cur && cur.value.serviceId !== s.value.serviceId) c.frontendMoved = true;
  }
  c.held.frontendSlots.write(writes, res.frontendSlots);
  c.maps.services.updateBatch(writes);
  for (const [key, value] of writes) c.held.services.set(frontendKeyOf(key), { key, value });
  res.services.written = writes.length;
}
