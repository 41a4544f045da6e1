/** The per-CPU counter maps read as named counters: `stats` (packets) and `stats_bytes` (bytes of forwards). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dsrlb_stat } from './consts.generated.js';
import { MapSpecs, openPinned, type MapSpec } from './map-specs.js';

const PREFIX = 'DSRLB_STAT_';

/** Counter name (lower case, without DSRLB_STAT_) -> the map's value at its index, summed over CPUs. */
function readCounters(root: string, spec: MapSpec<number, bigint>): Record<string, number> {
  const map = openPinned(root, spec);
  try {
    const out: Record<string, number> = {};
    for (const [name, index] of Object.entries(dsrlb_stat)) {
      if (index === dsrlb_stat.DSRLB_STAT_MAX) continue;
      const perCpu = map.lookupPerCpu(index) ?? [];
      out[name.slice(PREFIX.length).toLowerCase()] = Number(perCpu.reduce((a, b) => a + b, 0n));
    }
    return out;
  } finally {
    map.close();
  }
}

/** Counter name -> packets (socket hooks: system calls), summed over CPUs. */
export function readStats(root: string): Record<string, number> {
  return readCounters(root, MapSpecs.stats);
}

/**
 * Counter name -> bytes of the packets it counted as they left (bpf/lib/stats_bytes.h):
 * grows for the forward counters only, the rest stay 0. Undefined where no
 * stats_bytes is pinned (a datapath built before it).
 */
export function readStatBytes(root: string): Record<string, number> | undefined {
  if (!existsSync(join(root, MapSpecs.statsBytes.name))) return undefined;
  return readCounters(root, MapSpecs.statsBytes);
}
