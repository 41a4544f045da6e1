/**
 * lb4_backend_frontends (bpf/include/dsrlb.h): every backend on this node,
 * {address, port, proto} -> the frontend it serves when it serves exactly
 * one (and the fallback is on), else address 0.0.0.0. tc egress reads it
 * when a reply finds no reverse-NAT entry (bpf/lib/revnat.h): the miss is
 * counted, and the reply leaves from that frontend when there is one.
 *
 * Kept per service (a service's frontends and local backends come and go
 * with its own changes) and folded per backend: a backend in the sets of
 * two services, or of two frontends of one, has no single frontend.
 * Frontends only the socket hooks use (DSRLB_SVC_F_SOCKET_ONLY) never reach
 * tc egress and do not count.
 */
import type { Lb4BackendAddr, Lb4Revnat } from '../bpf/codecs/services.js';
import type { LbMap } from './maps/lb-maps.js';

/** One local backend a service's frontend leads to. */
export interface BackendFrontend {
  readonly backend: Lb4BackendAddr;
  readonly frontend: Lb4Revnat;
}

const NONE: Lb4Revnat = { address: '0.0.0.0', port: 0 };

function backendId(k: Lb4BackendAddr): string {
  return `${k.address}|${k.port}|${k.proto}`;
}

function frontendId(f: Lb4Revnat): string {
  return `${f.address}:${f.port}`;
}

interface Folded {
  readonly key: Lb4BackendAddr;
  /** frontend id -> how many services' pairs name it */
  readonly frontends: Map<string, { frontend: Lb4Revnat; refs: number }>;
}

export class BackendFrontends {
  /** What the map holds, by backend id. */
  private readonly held = new Map<string, { key: Lb4BackendAddr; value: Lb4Revnat }>();
  /** Service -> the pairs it contributed. */
  private readonly byService = new Map<string, readonly BackendFrontend[]>();
  private readonly folded = new Map<string, Folded>();

  /** Adopts what the map holds (a restarted agent); the first sync names every service and drops the rest. */
  constructor(private readonly map: LbMap<Lb4BackendAddr, Lb4Revnat>, private readonly fallback: boolean) {
    for (const [key, value] of map.entries()) this.held.set(backendId(key), { key, value });
  }

  /**
   * `services` changed; `pairs` has what those still there contribute.
   * `all`: every service was named (after an adoption), so entries of
   * backends nobody named go too. Returns the entries written and deleted.
   */
  update(services: readonly string[], pairs: ReadonlyMap<string, readonly BackendFrontend[]>, all: boolean)
    : { written: number; deleted: number } {
    const touched = new Set<string>(all ? this.held.keys() : []);
    for (const service of services) {
      for (const p of this.byService.get(service) ?? []) touched.add(this.fold(p, -1));
      const now = pairs.get(service) ?? [];
      for (const p of now) touched.add(this.fold(p, 1));
      if (now.length > 0) this.byService.set(service, now);
      else this.byService.delete(service);
    }
    const writes: [Lb4BackendAddr, Lb4Revnat][] = [];
    const deletes: Lb4BackendAddr[] = [];
    for (const id of touched) {
      const f = this.folded.get(id);
      const cur = this.held.get(id);
      if (!f) {
        if (cur) deletes.push(cur.key);
        this.held.delete(id);
        continue;
      }
      const only = [...f.frontends.values()];
      const value = this.fallback && only.length === 1 ? (only[0] as { frontend: Lb4Revnat }).frontend : NONE;
      if (cur && frontendId(cur.value) === frontendId(value)) continue;
      writes.push([f.key, value]);
      this.held.set(id, { key: f.key, value });
    }
    this.map.updateBatch(writes);
    this.map.deleteBatch(deletes);
    return { written: writes.length, deleted: deletes.length };
  }

  /** Adds (+1) or removes (-1) one pair from the fold; returns its backend id. */
  private fold(p: BackendFrontend, by: 1 | -1): string {
    const id = backendId(p.backend);
    let f = this.folded.get(id);
    if (!f) {
      f = { key: p.backend, frontends: new Map() };
      this.folded.set(id, f);
    }
    const fid = frontendId(p.frontend);
    const refs = (f.frontends.get(fid)?.refs ?? 0) + by;
    if (refs > 0) f.frontends.set(fid, { frontend: p.frontend, refs });
    else f.frontends.delete(fid);
    if (f.frontends.size === 0) this.folded.delete(id);
    return id;
  }
}
