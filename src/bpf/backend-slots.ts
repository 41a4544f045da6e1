/**
 * lb4_backends is an array indexed by backend id (bpf/include/dsrlb.h): a
 * slot holds a backend while DSRLB_BE_F_LIVE is set, and a freed slot keeps
 * only its generation, so the next backend in that slot gets a newer one and
 * flow or affinity entries naming the old backend go stale instead of
 * following the id to another pod. Every reader goes through here, so none
 * takes a free slot for a backend.
 */
import type { Lb4Backend } from './codecs/services.js';
import { DSRLB_BE_F_LIVE } from './consts.generated.js';
import type { BpfMap } from './map.js';

export function isLiveBackend(b: Lb4Backend): boolean {
  return (b.flags & DSRLB_BE_F_LIVE) !== 0;
}

/** The backends in the map, by id (free slots left out). */
export function liveBackends(map: BpfMap<number, Lb4Backend>): [number, Lb4Backend][] {
  return map.entries().filter(([, b]) => isLiveBackend(b));
}

/** The backend with this id, if its slot holds one. */
export function liveBackend(map: BpfMap<number, Lb4Backend>, id: number): Lb4Backend | undefined {
  const b = map.lookup(id);
  return b && isLiveBackend(b) ? b : undefined;
}

/** What a slot holds once its backend is gone. */
export function freedSlot(generation: number): Lb4Backend {
  return { address: '0.0.0.0', port: 0, proto: 0, flags: 0, nodeId: 0, generation };
}

/** The newest generation any slot holds or held (0 for a fresh map). */
export function newestGeneration(slots: Iterable<readonly [number, Lb4Backend]>): number {
  let newest = 0;
  for (const [, b] of slots) if (b.generation > newest) newest = b.generation;
  return newest;
}
