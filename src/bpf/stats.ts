/** The `stats` map read as named counters. */
import { dsrlb_stat } from './consts.generated.js';
import { MapSpecs, openPinned } from './map-specs.js';

const PREFIX = 'DSRLB_STAT_';

/** Counter name (lower case, without DSRLB_STAT_) -> packets, summed over CPUs. */
export function readStats(root: string): Record<string, number> {
  const map = openPinned(root, MapSpecs.stats);
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
