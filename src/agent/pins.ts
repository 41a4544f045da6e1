/**
 * The pinned maps the agent writes, by the kernel ids behind their pins: the
 * agent records them once its maps are open, and /healthz compares them
 * again, so pins removed or replaced under a running agent are noticed
 * (the agent would otherwise keep writing maps nothing reads).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../bpf/index.js';
import { MapSpecs, withPinned } from '../bpf/map-specs.js';

/** Maps whose contents come from the plan (the LRU state tables are the datapath's own). */
export const WRITTEN_MAPS: readonly string[] = [
  MapSpecs.services, MapSpecs.frontends, MapSpecs.backends, MapSpecs.localBackends, MapSpecs.revnat, MapSpecs.maglev, MapSpecs.maglevPrev, MapSpecs.maglevPrevSize, MapSpecs.maglevNone,
  MapSpecs.sourceRanges,
  MapSpecs.nodes, MapSpecs.nodeAddrs, MapSpecs.config, MapSpecs.portFilter,
].map((s) => s.name);

/** Map name -> id of the map pinned under that name, or null when nothing is pinned there. */
export function pinnedMapIds(root: string, names: readonly string[] = WRITTEN_MAPS): Map<string, number | null> {
  const out = new Map<string, number | null>();
  for (const name of names) {
    let fd = -1;
    try {
      fd = native().objGet(join(root, name));
      out.set(name, native().mapInfo(fd).id);
    } catch {
      out.set(name, null);
    } finally {
      if (fd >= 0) native().closeFd(fd);
    }
  }
  return out;
}

/** What differs between the ids recorded and the pins now, as one line; undefined when they agree. */
export function pinsDiffer(expected: ReadonlyMap<string, number | null>, now: ReadonlyMap<string, number | null>): string | undefined {
  const gone: string[] = [];
  const replaced: string[] = [];
  for (const [name, id] of expected) {
    const cur = now.get(name) ?? null;
    if (cur === null) gone.push(name);
    else if (cur !== id) replaced.push(name);
  }
  if (gone.length === 0 && replaced.length === 0) return undefined;
  const parts = [gone.length ? `unpinned: ${gone.join(', ')}` : '', replaced.length ? `replaced by other maps: ${replaced.join(', ')}` : ''];
  return `the maps this agent writes are no longer the pinned ones (${parts.filter(Boolean).join('; ')}); restart the agent to re-create and fill them`;
}

/**
 * The pinned maps hold a plan: every written map is pinned and `config` was
 * written (the agent writes it only once a complete sync is in the maps).
 * When not, the agent fills them before attaching anything.
 */
export function mapsHoldPlan(root: string): boolean {
  if (!WRITTEN_MAPS.every((name) => existsSync(join(root, name)))) return false;
  try {
    return withPinned(root, MapSpecs.config, (m) => (m.lookup(0)?.nodeId ?? 0) !== 0);
  } catch {
    return false; // a layout that does not decode: the maps are not this version's
  }
}
