/**
 * The entries the changed services want, with ids: service ids for groups,
 * backend ids, revnat ids, computed before anything is written.
 */
import { DSRLB_BE_F_LIVE, DSRLB_SOURCE_RANGE_PREFIX_BASE, DSRLB_SVC_F_SOCKET_ONLY } from '../bpf/consts.generated.js';
import type { Lb4Backend, Lb4Revnat } from '../bpf/codecs/services.js';
import type { Lb4SourceRangeKey } from '../bpf/codecs/source-ranges.js';
import type { FrontendKey, SourceRangeKey } from '../model/keys.js';
import type { ReconcileContext } from './context.js';
import { FRONTEND_KIND_CODES } from './desired.js';
import type { ServiceDesired } from './desired-types.js';
import { rangeKeyOf, type Members, type ServiceEntry } from './held.js';
import type { BackendFrontend } from './backend-frontends.js';
import type { LocalBackend } from './local-backends.js';

export interface Wanted {
  readonly backends: Map<number, Lb4Backend>;
  /** Service -> its backends on this node, per backend set (lb4_local_backends). */
  readonly local: Map<string, LocalBackend[]>;
  /** Service -> its local backends with each frontend leading to them (lb4_backend_frontends). */
  readonly backendFrontends: Map<string, BackendFrontend[]>;
  readonly tables: Map<number, { size: number; members: Members }>;
  readonly ranges: Map<SourceRangeKey, Lb4SourceRangeKey>;
  readonly services: Map<FrontendKey, ServiceEntry>;
  readonly revnat: Map<number, Lb4Revnat>;
  /** Service ids of the groups the changed services have now. */
  readonly groupIds: Set<number>;
}

/**
 * Service ids for groups that have none. A group keeps the id it has; a
 * group seen for the first time (or first since a restart) adopts the id
 * its frontends already use in lb4_services, the strongest claims first
 * (the id most of a group's frontends share), so a restart, or a frontend
 * moving between groups, changes no id that did not have to change.
 */
function assignGroupIds(c: ReconcileContext, news: readonly ServiceDesired[]): void {
  const serviceIds = c.ids.service;
  const claims: [string, number, number][] = [];
  const fresh: string[] = [];
  for (const s of news) {
    for (const g of s.groups) {
      if (serviceIds.get(g.key) !== undefined) continue;
      fresh.push(g.key);
      const votes = new Map<number, number>();
      for (const f of s.frontends) {
        if (f.groupKey !== g.key) continue;
        const cur = c.held.services.get(f.key);
        if (cur) votes.set(cur.value.serviceId, (votes.get(cur.value.serviceId) ?? 0) + 1);
      }
      for (const [id, n] of votes) claims.push([g.key, id, n]);
    }
  }
  claims.sort((a, b) => b[2] - a[2] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0) || a[1] - b[1]);
  for (const [key, id] of claims) {
    if (serviceIds.get(key) !== undefined || serviceIds.keyOf(id) !== undefined) continue;
    serviceIds.adopt(key, id);
  }
  fresh.sort();
  for (const key of fresh) serviceIds.acquire(key);
}

export function wanted(c: ReconcileContext, news: readonly ServiceDesired[]): Wanted {
  assignGroupIds(c, news);
  const { ids, applied } = c;
  const want: Wanted = {
    backends: new Map(), local: new Map(), backendFrontends: new Map(), tables: new Map(), ranges: new Map(), services: new Map(), revnat: new Map(), groupIds: new Set(),
  };
  for (const s of news) {
    const sizeOf = new Map<string, number>();
    const local: LocalBackend[] = [];
    want.local.set(s.service, local);
    want.backendFrontends.set(s.service, backendFrontendsOf(c, s));
    for (const g of s.groups) {
      const sid = ids.service.get(g.key) as number;
      want.groupIds.add(sid);
      sizeOf.set(g.key, g.maglevSize);
      const backendIds = new Uint32Array(g.backends.length);
      g.backends.forEach((b, i) => {
        const id = ids.backend.acquire(b.key);
        backendIds[i] = id;
        if (!want.backends.has(id)) {
          want.backends.set(id, { address: b.address, port: b.port, proto: b.proto, flags: DSRLB_BE_F_LIVE, nodeId: b.nodeId, generation: 0 });
        }
        if (b.nodeId === c.localNodeId) local.push({ address: b.address, port: b.port, proto: b.proto, serviceId: sid, backendId: id });
      });
      if (g.maglevSize > 0) want.tables.set(sid, { size: g.maglevSize, members: { names: g.backends, ids: backendIds } });
      for (const r of g.sourceRanges) {
        const k: Lb4SourceRangeKey = { prefixlen: DSRLB_SOURCE_RANGE_PREFIX_BASE + r.prefixLength, serviceId: sid, address: r.address };
        want.ranges.set(rangeKeyOf(k), k);
      }
    }
    for (const f of s.frontends) {
      if (applied.frontendOwner.get(f.key) !== s.service) continue;
      const revnatId = ids.revnat.acquire(f.key);
      want.revnat.set(revnatId, { address: f.lbKey.address, port: f.lbKey.port });
      want.services.set(f.key, {
        key: f.lbKey,
        value: {
          serviceId: ids.service.get(f.groupKey) as number,
          affinityTimeout: f.affinityTimeout,
          backendCount: f.backendCount,
          revnatId,
          flags: f.flags,
          kind: FRONTEND_KIND_CODES[f.kind],
          // The ClusterIP is this service's own frontend: its revnat id is acquired here or in its own turn.
          internalRevnat: f.internalFrontend !== null && applied.frontendOwner.get(f.internalFrontend) === s.service
            ? ids.revnat.acquire(f.internalFrontend) : 0,
          maglevSize: sizeOf.get(f.groupKey) ?? 0,
        },
      });
    }
  }
  return want;
}

/** The service's local backends paired with each frontend the datapath serves that leads to them. */
function backendFrontendsOf(c: ReconcileContext, s: ServiceDesired): BackendFrontend[] {
  const out: BackendFrontend[] = [];
  for (const f of s.frontends) {
    if ((f.flags & DSRLB_SVC_F_SOCKET_ONLY) !== 0 || c.applied.frontendOwner.get(f.key) !== s.service) continue;
    for (const b of s.groups.find((g) => g.key === f.groupKey)?.backends ?? []) {
      if (b.nodeId !== c.localNodeId) continue;
      out.push({ backend: { address: b.address, port: b.port, proto: b.proto }, frontend: { address: f.lbKey.address, port: f.lbKey.port } });
    }
  }
  return out;
}
