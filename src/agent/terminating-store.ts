/**
 * When each TERMINATING backend started terminating, kept in a small hash map
 * the agent pins next to the datapath's maps (`lb4_terminating`), so a
 * restarted agent continues the grace period instead of starting it again.
 * Beside the maps, not in a state directory: it lives and dies with the
 * lb4_backends slots it describes (cleanup, a fresh bpffs root and a second
 * root on one machine all stay consistent without another flag). The
 * datapath never reads it. Each entry records the slot's generation, so a
 * slot reused since is never given an old deadline.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { BpfMap, MapType, native, pad, struct, u32, u64 } from '../bpf/index.js';
import { DSRLB_MAX_BACKENDS, DSRLB_BE_F_TERMINATING } from '../bpf/consts.generated.js';
import { u32Key } from '../bpf/codecs/scalars.js';
import type { Lb4Backend } from '../bpf/codecs/services.js';

export const TERMINATING_MAP = 'lb4_terminating';

/** Userspace-only layout (no C struct: no program reads it). */
export const terminatingEntry = struct('dsrlb_terminating', { sinceMs: u64, generation: u32, pad: pad(4) });

export class TerminatingStore {
  private saved = new Map<number, number>();

  private constructor(private readonly map: BpfMap<number, { sinceMs: bigint; generation: number }>) {}

  /** Opens the pinned map, creating and pinning it on first use. */
  static open(root: string): TerminatingStore {
    const path = join(root, TERMINATING_MAP);
    const fd = existsSync(path) ? native().objGet(path)
      : native().mapCreate(MapType.HASH, TERMINATING_MAP, u32Key.size, terminatingEntry.size, DSRLB_MAX_BACKENDS, 0);
    const map = new BpfMap(fd, u32Key, terminatingEntry, true, TERMINATING_MAP);
    if (!existsSync(path)) map.pin(path);
    return new TerminatingStore(map);
  }

  /** Backend id -> since, for the entries whose slot still holds the same TERMINATING backend. */
  restore(backends: BpfMap<number, Lb4Backend>): Map<number, number> {
    const out = new Map<number, number>();
    for (const [id, e] of this.map.entries()) {
      const b = backends.lookup(id);
      if (b && (b.flags & DSRLB_BE_F_TERMINATING) && b.generation === e.generation) out.set(id, Number(e.sinceMs));
    }
    this.saved = new Map(out);
    return out;
  }

  /** Writes what changed since the last save; `generationOf` reads the slot's generation. */
  save(terminating: ReadonlyMap<number, number>, generationOf: (id: number) => number | undefined): void {
    for (const [id, since] of terminating) {
      if (this.saved.get(id) === since) continue;
      const generation = generationOf(id);
      if (generation === undefined) continue;
      this.map.update(id, { sinceMs: BigInt(since), generation });
      this.saved.set(id, since);
    }
    for (const id of [...this.saved.keys()]) {
      if (terminating.has(id)) continue;
      this.map.delete(id);
      this.saved.delete(id);
    }
  }

  close(): void {
    this.map.close();
  }
}
