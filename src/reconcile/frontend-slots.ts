/**
 * lb4_frontends (bpf/include/dsrlb.h): every lb4_services entry mirrored at
 * its revnat id, so an established flow re-checks its frontend with an array
 * read. The reconciler writes a slot just before the lb4_services entry it
 * mirrors and frees it just before deleting that entry.
 *
 * A slot keeps its generation while it holds the same frontend (a revnat id
 * stays bound to one frontend until that frontend goes); a frontend that
 * takes a free slot gets a generation newer than any the map holds or held,
 * so flows recorded with an earlier frontend in that slot go the full way
 * (lb4_services) again.
 */
import type { Lb4Frontend, Lb4Key, Lb4Service } from '../bpf/codecs/services.js';
import { sameFrontendSlot } from './equality.js';
import type { MapChanges } from './result.js';
import type { SlotMap } from './maps/lb-maps.js';

function freedFrontend(generation: number): Lb4Frontend {
  return { serviceId: 0, generation, flags: 0 };
}

export class FrontendSlots {
  /** Live slots, by revnat id, as the map holds them. */
  private readonly live = new Map<number, Lb4Frontend>();
  private newest = 0;

  /** Adopts what the map holds (a restarted agent). */
  constructor(private readonly map: SlotMap<Lb4Frontend>) {
    const scan = map.scan();
    this.newest = scan.newestGeneration;
    for (const [id, slot] of scan.live) this.live.set(id, slot);
  }

  /** Mirrors these lb4_services writes (call just before making them). */
  write(services: readonly (readonly [Lb4Key, Lb4Service])[], counts: MapChanges): void {
    const writes: [number, Lb4Frontend][] = [];
    for (const [, s] of services) {
      const cur = this.live.get(s.revnatId);
      if (cur && sameFrontendSlot(cur, s)) continue;
      writes.push([s.revnatId, { serviceId: s.serviceId, flags: s.flags, generation: cur ? cur.generation : ++this.newest }]);
    }
    this.map.updateBatch(writes);
    for (const [id, slot] of writes) this.live.set(id, slot);
    counts.written += writes.length;
  }

  /** Frees the slots of these revnat ids (call just before deleting their lb4_services entries). */
  free(revnatIds: Iterable<number>, counts: MapChanges): void {
    const writes: [number, Lb4Frontend][] = [];
    for (const id of revnatIds) {
      const cur = this.live.get(id);
      if (cur) writes.push([id, freedFrontend(cur.generation)]);
    }
    this.map.updateBatch(writes);
    for (const [id] of writes) this.live.delete(id);
    counts.deleted += writes.length;
  }

  /**
   * Makes the slots mirror exactly these lb4_services entries (all of them):
   * after an adoption, the map may hold slots of frontends that are gone, or
   * lack slots of entries written by an agent that predates them.
   */
  match(services: readonly (readonly [Lb4Key, Lb4Service])[], counts: MapChanges): void {
    const wanted = new Set(services.map(([, s]) => s.revnatId));
    this.free([...this.live.keys()].filter((id) => !wanted.has(id)), counts);
    this.write(services, counts);
  }
}
