/**
 * lb4_backends is an array indexed by backend id (bpf/include/dsrlb.h): a
 * slot holds a backend while DSRLB_BE_F_LIVE is set, and a freed slot keeps
 * only its generation, so the next backend in that slot gets a newer one and
 * flow or affinity entries naming the old backend go stale instead of
 * following the id to another pod. Every reader goes through here, so none
 * takes a free slot for a backend.
 */
import { lb4Backend, type Lb4Backend } from './codecs/services.js';
import { DSRLB_BE_F_LIVE } from './consts.generated.js';
import type { BpfMap } from './map.js';

function fieldOffset(name: string): number {
  const f = lb4Backend.fields.find((x) => x.name === name);
  if (!f) throw new Error(`lb4_backend has no field ${name}`);
  return f.offset;
}

const FLAGS_OFFSET = fieldOffset('flags');
const GENERATION_OFFSET = fieldOffset('generation');

/** Whether the raw lb4_backend at values[vo] is a live slot (counting without decoding). */
export function isLiveBackendRaw(values: Buffer, vo: number): boolean {
  return ((values[vo + FLAGS_OFFSET] as number) & DSRLB_BE_F_LIVE) !== 0;
}

export function isLiveBackend(b: Lb4Backend): boolean {
  return (b.flags & DSRLB_BE_F_LIVE) !== 0;
}

export interface BackendScan {
  /** The backends in the map, by id (free slots left out). */
  readonly live: [number, Lb4Backend][];
  /** The newest generation any slot holds or held (0 for a fresh map). */
  readonly newestGeneration: number;
}

/**
 * One pass over every slot, decoding only the live ones: a whole array is
 * 131,072 slots, and an object per slot would be ~90 MB of garbage at the
 * agent's start.
 */
export function scanBackends(map: BpfMap<number, Lb4Backend>): BackendScan {
  const live: [number, Lb4Backend][] = [];
  let newestGeneration = 0;
  map.scanRaw((keys, ko, values, vo) => {
    const generation = values.readUInt32LE(vo + GENERATION_OFFSET);
    if (generation > newestGeneration) newestGeneration = generation;
    if (isLiveBackendRaw(values, vo)) live.push([keys.readUInt32LE(ko), lb4Backend.decode(values, vo)]);
  });
  return { live, newestGeneration };
}

/** The backends in the map, by id (free slots left out). */
export function liveBackends(map: BpfMap<number, Lb4Backend>): [number, Lb4Backend][] {
  return scanBackends(map).live;
}

/** What a slot holds once its backend is gone. */
export function freedSlot(generation: number): Lb4Backend {
  return { address: '0.0.0.0', port: 0, proto: 0, flags: 0, nodeId: 0, generation };
}
