/**
 * Stable numeric ids for things the maps key by number (service ids, backend
 * ids, revnat ids), keyed by a string identity.
 *
 * - An identity keeps its id for as long as it is in use.
 * - A restarted agent adopts the ids it finds in the pinned maps, so nothing
 *   already programmed (and no live flow, which names backend and service ids)
 *   changes meaning.
 * - New ids come from a cursor that only moves forward (wrapping at `max`),
 *   skipping ids in use or reserved: a released id is not handed out again
 *   until the cursor comes round, so an LRU entry naming an old id (a flow, an
 *   affinity entry) does not silently point at something new.
 */
import { DsrlbError } from '../errors.js';

export class IdAllocator {
  private readonly byKey = new Map<string, number>();
  private readonly byId = new Map<number, string>();
  /** Ids held without an identity (e.g. found in a map, not yet adopted or deleted). */
  private readonly reserved = new Set<number>();
  private cursor: number;

  /**
   * @param name what the ids are, for errors ("service id")
   * @param min smallest id (ids below are never handed out; 0 usually means "none")
   * @param max largest id
   */
  constructor(readonly name: string, readonly min: number, readonly max: number) {
    this.cursor = min;
  }

  get size(): number { return this.byKey.size; }

  get(key: string): number | undefined { return this.byKey.get(key); }

  keyOf(id: number): string | undefined { return this.byId.get(id); }

  /** True when the id is held by an identity or reserved. */
  inUse(id: number): boolean { return this.byId.has(id) || this.reserved.has(id); }

  /**
   * Binds `key` to an id it already has in the maps. Refused (false) when the
   * id is outside the range or bound to another key. Moves the cursor past it.
   */
  adopt(key: string, id: number): boolean {
    if (!Number.isInteger(id) || id < this.min || id > this.max) return false;
    const holder = this.byId.get(id);
    if (holder !== undefined) return holder === key;
    if (this.byKey.has(key)) return false;
    this.reserved.delete(id);
    this.bind(key, id);
    this.advancePast(id);
    return true;
  }

  /** Marks an id as taken by something with no identity yet (kept off new allocations). */
  reserve(id: number): void {
    if (id < this.min || id > this.max || this.byId.has(id)) return;
    this.reserved.add(id);
    this.advancePast(id);
  }

  unreserve(id: number): void { this.reserved.delete(id); }

  /** The key's id, allocating one when it has none. */
  acquire(key: string): number {
    const have = this.byKey.get(key);
    if (have !== undefined) return have;
    const span = this.max - this.min + 1;
    for (let i = 0; i < span; i++) {
      const id = this.cursor;
      this.cursor = id >= this.max ? this.min : id + 1;
      if (!this.inUse(id)) {
        this.bind(key, id);
        return id;
      }
    }
    throw new DsrlbError('ERR_IDS_EXHAUSTED', `no free ${this.name} (${span} in use)`, {
      subject: this.name, remedy: 'too many objects of this kind for the datapath maps: remove some',
    });
  }

  release(key: string): void {
    const id = this.byKey.get(key);
    if (id === undefined) return;
    this.byKey.delete(key);
    this.byId.delete(id);
  }

  entries(): IterableIterator<[string, number]> { return this.byKey.entries(); }

  private bind(key: string, id: number): void {
    this.byKey.set(key, id);
    this.byId.set(id, key);
  }

  private advancePast(id: number): void {
    // After a restart, continue after the highest id seen rather than reuse low ones.
    if (id >= this.cursor) this.cursor = id >= this.max ? this.min : id + 1;
  }
}

/** lb4_service.revnat_id is a __u16. */
const MAX_REVNAT_ID = 0xffff;

/**
 * The reconciler's ids: service id by group key (plan's backendSetKey),
 * backend id by backend key (an lb4_backends slot), revnat id by frontend key
 * (an lb4_frontends slot).
 */
export class ReconcileIds {
  readonly service: IdAllocator;
  readonly revnat = new IdAllocator('revnat id', 1, MAX_REVNAT_ID);
  readonly backend: IdAllocator;

  /**
   * @param backendSlots lb4_backends' size: ids index it, 1 to its last slot
   * @param serviceSlots lb4_maglev's size (an array of maps): service ids index it, 1 to its last slot
   */
  constructor(backendSlots: number, serviceSlots: number) {
    this.backend = new IdAllocator('backend id', 1, backendSlots - 1);
    this.service = new IdAllocator('service id', 1, serviceSlots - 1);
  }
}
