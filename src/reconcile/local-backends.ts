/**
 * lb4_local_backends (bpf/include/dsrlb.h): the backends on this node, per
 * service id of each backend set that lists them, plus one "any service"
 * entry per backend (DSRLB_LOCAL_ANY). A backend node delivers a Geneve
 * packet only to a local backend of the frontend the packet names, and tc
 * egress rewrites only replies from a local backend.
 *
 * An entry is added before the frontends that lead to it (make before
 * break). When no service's backend set lists it any more it stays while its
 * backend is TERMINATING in lb4_backends (the backend still serves its
 * flows) and goes when the backend's slot is freed; a backend that stays in
 * other sets only loses the entries of the sets it left.
 */
import { DSRLB_BE_F_TERMINATING, DSRLB_LOCAL_ANY } from '../bpf/consts.generated.js';
import type { Lb4Backend, Lb4LocalBackendKey } from '../bpf/codecs/services.js';
import type { LbMap } from './maps/lb-maps.js';

/** A local backend in the backend set of service `serviceId`. */
export interface LocalBackend {
  readonly address: string;
  readonly port: number;
  readonly proto: number;
  readonly serviceId: number;
  readonly backendId: number;
}

function keyString(k: Lb4LocalBackendKey): string {
  return `${k.address}|${k.port}|${k.proto}|${k.serviceId}`;
}

function keyOf(b: LocalBackend, serviceId: number): Lb4LocalBackendKey {
  return { address: b.address, port: b.port, proto: b.proto, serviceId };
}

interface Held { readonly key: Lb4LocalBackendKey; readonly backendId: number }

export class LocalBackends {
  /** What the map holds, by key string. */
  private readonly held = new Map<string, Held>();
  /** Service ("ns/name") -> the key strings of its entries (service ids, not "any"). */
  private readonly byService = new Map<string, string[]>();
  /** Key string -> how many services want it. */
  private readonly refs = new Map<string, number>();

  /** Adopts what the map holds (a restarted agent): the first sync names every service, prune() drops the rest. */
  constructor(private readonly map: LbMap<Lb4LocalBackendKey, number>) {
    for (const [key, backendId] of map.entries()) this.held.set(keyString(key), { key, backendId });
  }

  /**
   * `services` changed; `local` has the local backends of those still there.
   * Writes the entries they add (call before the lb4_services writes that
   * lead to them); returns how many.
   */
  update(services: readonly string[], local: ReadonlyMap<string, readonly LocalBackend[]>): number {
    const writes: [Lb4LocalBackendKey, number][] = [];
    for (const service of services) {
      for (const k of this.byService.get(service) ?? []) this.refs.set(k, (this.refs.get(k) ?? 1) - 1);
      const keys: string[] = [];
      for (const b of local.get(service) ?? []) {
        const own = keyOf(b, b.serviceId);
        keys.push(keyString(own));
        this.refs.set(keyString(own), (this.refs.get(keyString(own)) ?? 0) + 1);
        for (const key of [own, keyOf(b, DSRLB_LOCAL_ANY)]) {
          const k = keyString(key);
          if (this.held.get(k)?.backendId === b.backendId) continue;
          writes.push([key, b.backendId]);
          this.held.set(k, { key, backendId: b.backendId });
        }
      }
      if (keys.length > 0) this.byService.set(service, keys);
      else this.byService.delete(service);
    }
    this.map.updateBatch(writes);
    return writes.length;
  }

  /**
   * Deletes the entries no service wants unless their backend is still
   * TERMINATING here (`backends`: what lb4_backends holds); an "any service"
   * entry goes with its backend's last service entry. Returns how many.
   */
  prune(backends: ReadonlyMap<number, Lb4Backend>, localNodeId: number): number {
    const stale: string[] = [];
    const anyKept = new Set<string>();
    const draining = ({ key, backendId }: Held): boolean => {
      const b = backends.get(backendId);
      return b !== undefined && (b.flags & DSRLB_BE_F_TERMINATING) !== 0 && b.nodeId === localNodeId
        && b.address === key.address && b.port === key.port && b.proto === key.proto;
    };
    for (const [k, h] of this.held) {
      if (h.key.serviceId === DSRLB_LOCAL_ANY) continue;
      if ((this.refs.get(k) ?? 0) > 0 || draining(h)) anyKept.add(keyString({ ...h.key, serviceId: DSRLB_LOCAL_ANY }));
      else stale.push(k);
    }
    for (const [k, h] of this.held) if (h.key.serviceId === DSRLB_LOCAL_ANY && !anyKept.has(k)) stale.push(k);
    for (const [k, n] of this.refs) if (n <= 0) this.refs.delete(k);
    this.map.deleteBatch(stale.map((k) => (this.held.get(k) as Held).key));
    for (const k of stale) this.held.delete(k);
    return stale.length;
  }
}
