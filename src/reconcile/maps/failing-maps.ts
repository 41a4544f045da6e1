/**
 * LbMaps that fail on purpose: wraps other maps and makes the N-th call, or
 * calls picked at random, throw the errno asked for, the way a kernel map
 * fails (a batch applies the entries before the failing one). For tests of
 * failure recovery; `after` also lets a test look at the maps after every
 * single write.
 */
import type { TableBuffer } from '../table-buffer.js';
import { mapError, type ErrnoCode } from './errno.js';
import type { InnerTable, LbMap, LbMaps, MaglevMaps, SlotMap, SlotScan } from './lb-maps.js';

export interface FailingOptions {
  /** Fail the call with this number (1-based, counting the calls `only` selects). */
  readonly failAt?: number;
  /** Fail each selected call with this probability, drawing from `random` (a seeded generator). */
  readonly probability?: number;
  readonly random?: () => number;
  /** Errno of the failure (default EIO). */
  readonly errno?: ErrnoCode;
  /** Which calls count and may fail: writes only (default), or reads too. */
  readonly only?: 'writes' | 'all';
  /** Called after every write that went through, with "map.operation". */
  readonly after?: (what: string) => void;
}

export class FailingMaps implements LbMaps {
  /** Calls counted so far (the selected kind). */
  calls = 0;
  /** Failures injected so far. */
  failures = 0;
  /** What failed last ("map.operation #n"). */
  lastFailure: string | undefined;
  /** The call to fail next (1-based, as `calls` counts); a test may re-arm it. */
  failAt: number | undefined;
  readonly services: LbMaps['services'];
  readonly frontends: LbMaps['frontends'];
  readonly backends: LbMaps['backends'];
  readonly localBackends: LbMaps['localBackends'];
  readonly backendFrontends: LbMaps['backendFrontends'];
  readonly config: LbMaps['config'];
  readonly revnat: LbMaps['revnat'];
  readonly sourceRanges: LbMaps['sourceRanges'];
  readonly nodes: LbMaps['nodes'];
  readonly nodeAddrs: LbMaps['nodeAddrs'];
  readonly portFilter: LbMaps['portFilter'];
  readonly maglev: MaglevMaps;

  constructor(readonly inner: LbMaps, private readonly opts: FailingOptions = {}) {
    this.failAt = opts.failAt;
    this.services = this.wrap(inner.services);
    this.frontends = this.wrapSlots(inner.frontends);
    this.backends = this.wrapSlots(inner.backends);
    this.localBackends = this.wrap(inner.localBackends);
    this.backendFrontends = this.wrap(inner.backendFrontends);
    this.config = this.wrap(inner.config);
    this.revnat = this.wrap(inner.revnat);
    this.sourceRanges = this.wrap(inner.sourceRanges);
    this.nodes = this.wrap(inner.nodes);
    this.nodeAddrs = this.wrap(inner.nodeAddrs);
    this.portFilter = this.wrap(inner.portFilter);
    this.maglev = this.wrapMaglev(inner.maglev);
  }

  close(): void { this.inner.close(); }

  /** True when this call is to fail. */
  private due(write: boolean): boolean {
    if (!write && this.opts.only !== 'all') return false;
    this.calls++;
    if (this.calls === this.failAt) return true;
    return this.opts.probability !== undefined && (this.opts.random ?? Math.random)() < this.opts.probability;
  }

  private fail(map: string, op: string): Error {
    this.failures++;
    this.lastFailure = `${map}.${op} #${this.calls}`;
    return mapError(this.opts.errno ?? 'EIO', op, map, 'injected failure');
  }

  private read<T>(map: string, op: string, fn: () => T): T {
    if (this.due(false)) throw this.fail(map, op);
    return fn();
  }

  /** A write; `partial` applies the part a kernel would have applied before failing. */
  private write<T>(map: string, op: string, fn: () => T, partial?: () => void): T {
    if (this.due(true)) {
      partial?.();
      throw this.fail(map, op);
    }
    const out = fn();
    this.opts.after?.(`${map}.${op}`);
    return out;
  }

  private wrap<K, V>(m: LbMap<K, V>): LbMap<K, V> {
    return {
      name: m.name,
      maxEntries: m.maxEntries,
      lookup: (k) => this.read(m.name, 'lookup', () => m.lookup(k)),
      entries: () => this.read(m.name, 'entries', () => m.entries()),
      keys: () => this.read(m.name, 'keys', () => m.keys()),
      update: (k, v) => this.write(m.name, 'update', () => m.update(k, v)),
      delete: (k) => this.write(m.name, 'delete', () => m.delete(k)),
      updateBatch: (e) => {
        if (e.length > 0) this.write(m.name, 'updateBatch', () => m.updateBatch(e), () => m.updateBatch(e.slice(0, e.length >> 1)));
      },
      deleteBatch: (keys) => (keys.length === 0 ? 0
        : this.write(m.name, 'deleteBatch', () => m.deleteBatch(keys), () => m.deleteBatch(keys.slice(0, keys.length >> 1)))),
    };
  }

  private wrapSlots<V>(m: SlotMap<V>): SlotMap<V> {
    return { ...this.wrap(m), scan: (): SlotScan<V> => this.read(m.name, 'scan', () => m.scan()) };
  }

  private wrapMaglev(m: MaglevMaps): MaglevMaps {
    const n = m.name;
    return {
      name: n,
      maxEntries: m.maxEntries,
      keys: () => this.read(n, 'keys', () => m.keys()),
      lookup: (sid) => this.read(n, 'lookup', () => m.lookup(sid)),
      open: (sid, id) => this.read(n, 'open', () => m.open(sid, id)),
      capacity: (sid, t) => this.read(n, 'capacity', () => m.capacity(sid, t)),
      read: (sid, t, size) => this.read(n, 'read', () => m.read(sid, t, size)),
      close: (t: InnerTable) => m.close(t),
      create: (sid: number, table: TableBuffer, capacity: number) => this.write(`${n}[${sid}]`, 'create', () => m.create(sid, table, capacity)),
      write: (sid, t, table, elements) => {
        if (elements.length > 0) {
          this.write(`${n}[${sid}]`, 'write', () => m.write(sid, t, table, elements), () => m.write(sid, t, table, elements.slice(0, elements.length >> 1)));
        }
      },
      swap: (e) => {
        if (e.length > 0) this.write(n, 'swap', () => m.swap(e), () => m.swap(e.slice(0, e.length >> 1)));
      },
      delete: (sids) => {
        if (sids.length > 0) this.write(n, 'delete', () => m.delete(sids), () => m.delete(sids.slice(0, sids.length >> 1)));
      },
      prevEntries: () => this.read(`${n}_prev`, 'entries', () => m.prevEntries()),
      putPrev: (e) => {
        if (e.length > 0) this.write(`${n}_prev`, 'put', () => m.putPrev(e), () => m.putPrev(e.slice(0, e.length >> 1)));
      },
      deletePrev: (sids) => {
        if (sids.length > 0) this.write(`${n}_prev`, 'delete', () => m.deletePrev(sids), () => m.deletePrev(sids.slice(0, sids.length >> 1)));
      },
    };
  }
}
