/**
 * What the maps hold, as last read or written, and adoption: reading it all
 * back from the pinned maps (a restarted agent, or after a write failed, or
 * the periodic resync) and taking over the ids found there, so nothing
 * already programmed (and no live flow, which names backend and service ids)
 * changes meaning.
 */
import { DSRLB_BE_F_TERMINATING } from '../bpf/consts.generated.js';
import type { Lb4Backend, Lb4Key, Lb4Revnat, Lb4Service } from '../bpf/codecs/services.js';
import type { Lb4SourceRangeKey } from '../bpf/codecs/source-ranges.js';
import { backendKeyOf, frontendKeyOf, sourceRangeKey, type FrontendKey, type SourceRangeKey } from '../model/keys.js';
import { BackendFrontends } from './backend-frontends.js';
import { FrontendSlots } from './frontend-slots.js';
import { LocalBackends } from './local-backends.js';
import { bumpLocalEpoch } from './local-epoch.js';
import { ReconcileIds } from './ids.js';
import type { LbMaps } from './maps/lb-maps.js';
import { PortFilter } from './port-filter-writer.js';

/** Who is in a table: backend i is `names[i].name` with id `ids[i]`. */
export interface Members {
  readonly names: readonly { readonly name: string }[];
  readonly ids: Uint32Array;
}

export interface TableState {
  readonly size: number;
  /** Elements the inner map has; null when adopted and not looked at yet. */
  readonly capacity: number | null;
  /** Who is in it; null when adopted from the maps and not yet compared. */
  readonly members: Members | null;
}

export interface ServiceEntry { readonly key: Lb4Key; readonly value: Lb4Service }

/** Keys found in the maps at adoption: checked once, at the next sync, for entries no service wants. */
export interface Adopted {
  readonly services: FrontendKey[];
  readonly revnat: number[];
  readonly backends: number[];
  readonly tables: number[];
  readonly ranges: SourceRangeKey[];
}

export function rangeKeyOf(k: Lb4SourceRangeKey): SourceRangeKey {
  return sourceRangeKey(k.serviceId, k.address, k.prefixlen);
}

export class MapsHeld {
  readonly services = new Map<FrontendKey, ServiceEntry>();
  readonly revnat = new Map<number, Lb4Revnat>();
  readonly backends = new Map<number, Lb4Backend>();
  readonly tables = new Map<number, TableState>();
  readonly ranges = new Map<SourceRangeKey, Lb4SourceRangeKey>();
  readonly nodes = new Map<number, string>();
  readonly nodeAddrs = new Map<string, number>();
  /** TERMINATING backends: since when (ms). */
  readonly terminatingSince = new Map<number, number>();
  /** Newest lb4_backend.generation written or found: each new backend in a slot gets the next. */
  generation = 0;

  /** lb4_frontends kept in step with lb4_services; lb4_local_backends; lb4_port_filter; lb4_backend_frontends. */
  constructor(readonly frontendSlots: FrontendSlots, readonly localBackends: LocalBackends, readonly portFilter: PortFilter,
    readonly backendFrontends: BackendFrontends) {}
}

/**
 * Reads every map the reconciler writes. Ids found are adopted by the
 * identity they hold, or reserved when two entries claim one (the duplicate
 * goes at the next sync). `since` keeps the TERMINATING clocks of a re-read.
 * `trusted` ids (a resync of maps this process wrote) are bound first: an
 * entry changed by hand then no longer matches its id's identity, and is
 * rewritten rather than taken for something else. `revnatFallback`:
 * --revnat-fallback (backend-frontends.ts).
 */
export function adoptMaps(maps: LbMaps, now: number, since: ReadonlyMap<number, number>, trusted?: ReconcileIds, revnatFallback = false)
  : { held: MapsHeld; ids: ReconcileIds; adopted: Adopted } {
  const ids = new ReconcileIds(maps.backends.maxEntries, maps.maglev.maxEntries);
  if (trusted) {
    for (const [key, id] of trusted.service.entries()) ids.service.adopt(key, id);
    for (const [key, id] of trusted.revnat.entries()) ids.revnat.adopt(key, id);
    for (const [key, id] of trusted.backend.entries()) ids.backend.adopt(key, id);
  }
  const held = new MapsHeld(new FrontendSlots(maps.frontends), new LocalBackends(maps.localBackends), new PortFilter(maps.portFilter),
    new BackendFrontends(maps.backendFrontends, revnatFallback));
  // Whatever backend nodes verified before this (re)read may be stale.
  bumpLocalEpoch(maps.config);
  const sizeOf = new Map<number, number>();
  for (const [key, value] of maps.services.entries()) {
    const k = frontendKeyOf(key);
    held.services.set(k, { key, value });
    ids.service.reserve(value.serviceId);
    if (value.maglevSize > 0) sizeOf.set(value.serviceId, value.maglevSize);
    if (!ids.revnat.adopt(k, value.revnatId)) ids.revnat.reserve(value.revnatId);
  }
  for (const [id, value] of maps.revnat.entries()) {
    held.revnat.set(id, value);
    if (ids.revnat.keyOf(id) === undefined) ids.revnat.reserve(id);
  }
  const slots = maps.backends.scan();
  held.generation = slots.newestGeneration;
  for (const [id, value] of slots.live) {
    held.backends.set(id, value);
    if (!ids.backend.adopt(backendKeyOf(value), id)) ids.backend.reserve(id);
    if (value.flags & DSRLB_BE_F_TERMINATING) held.terminatingSince.set(id, since.get(id) ?? now);
  }
  for (const id of maps.maglev.keys()) {
    ids.service.reserve(id);
    // A table no frontend points at has an unknown size: nothing wants it, so it goes at the first sync.
    held.tables.set(id, { size: sizeOf.get(id) ?? 0, capacity: null, members: null });
  }
  for (const key of maps.sourceRanges.keys()) {
    held.ranges.set(rangeKeyOf(key), key);
    ids.service.reserve(key.serviceId);
  }
  for (const [id, node] of maps.nodes.entries()) held.nodes.set(id, node.address);
  for (const [address, id] of maps.nodeAddrs.entries()) held.nodeAddrs.set(address, id);
  const adopted: Adopted = {
    services: [...held.services.keys()], revnat: [...held.revnat.keys()], backends: [...held.backends.keys()],
    tables: [...held.tables.keys()], ranges: [...held.ranges.keys()],
  };
  return { held, ids, adopted };
}
