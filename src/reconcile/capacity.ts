/**
 * Admission before the reconciler: when the plan needs more entries than the
 * maps hold, whole Services are admitted up to capacity in a stable order
 * (those already admitted first, then by name), the rest are reported, and
 * every other change still applies. Pure: it counts, it never touches a map.
 *
 * Counted per Service: frontends (one lb4_services entry and one revnat id
 * each), distinct backends (shared ones counted once across Services) and
 * source-range prefixes. Backends still draining (TERMINATING) also hold
 * slots: the caller leaves room for them in `Capacity.backends`.
 */
import { backendKey, protocolNumber } from '../model/keys.js';
import { frontendKey } from '../plan/keys.js';
import type { Frontend } from '../plan/types.js';

export interface Capacity {
  readonly frontends: number;
  readonly backends: number;
  readonly sourceRanges: number;
}

export interface Rejection {
  readonly service: string;
  /** Frontends of the Service left out of the maps. */
  readonly frontends: number;
  /** Its previous version stays in the maps (the new one did not fit). */
  readonly keptPrevious: boolean;
  readonly reason: string;
}

export interface Admission<T> {
  readonly admitted: T;
  /** Every Service not (fully) in the maps now, by name. */
  readonly rejected: readonly Rejection[];
}

interface Need { readonly frontends: number; readonly backends: readonly string[]; readonly ranges: number }

function needOf(frontends: readonly Frontend[]): Need {
  const backends = new Set<string>();
  let ranges = 0;
  for (const f of frontends) {
    for (const b of f.backends) backends.add(backendKey(b.address, b.port, protocolNumber(f.protocol)));
    ranges += f.sourceRanges?.length ?? 0;
  }
  return { frontends: frontends.length, backends: [...backends], ranges };
}

const NOTHING: Need = { frontends: 0, backends: [], ranges: 0 };

/**
 * A Service's old and new frontends together: the reconciler writes the new
 * before it deletes the old, so for a moment the maps hold both (a frontend
 * in both is updated in place).
 */
function union(old: readonly Frontend[], want: readonly Frontend[]): Frontend[] {
  const seen = new Set(old.map(frontendKey));
  return [...old, ...want.filter((f) => !seen.has(frontendKey(f)))];
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class CapacityGate {
  /** Service -> the frontends admitted into the maps. */
  private readonly admitted = new Map<string, readonly Frontend[]>();
  /** Service -> what it wants but did not get. */
  private readonly waiting = new Map<string, readonly Frontend[]>();
  private readonly refs = new Map<string, number>();
  private frontends = 0;
  private ranges = 0;
  /** The last call released room while Services wait: call update(new Map()) once the maps have been written. */
  roomFreed = false;

  constructor(private readonly cap: Capacity) {}

  /**
   * The whole plan: what goes to the reconciler's full sync. `inMaps` tells
   * which frontends the maps already hold (at a restart, so the Services
   * serving before it stay the ones admitted).
   */
  full(frontends: readonly Frontend[], inMaps: (f: Frontend) => boolean = () => false): Admission<Frontend[]> {
    const wanted = new Map<string, Frontend[]>();
    const serving = new Set<string>();
    for (const f of frontends) {
      const list = wanted.get(f.service);
      if (list) list.push(f);
      else wanted.set(f.service, [f]);
      if (inMaps(f)) serving.add(f.service);
    }
    const changes = new Map<string, readonly Frontend[]>(wanted);
    for (const s of [...this.admitted.keys(), ...this.waiting.keys()]) if (!wanted.has(s)) changes.set(s, []);
    const { rejected } = this.apply(changes, serving);
    const admitted: Frontend[] = [];
    for (const [s, list] of this.admitted) {
      if (list === wanted.get(s)) continue;
      admitted.push(...list); // a previous version kept
    }
    for (const f of frontends) if (this.admitted.get(f.service) === wanted.get(f.service)) admitted.push(f);
    return { admitted, rejected };
  }

  /**
   * Changed Services (an empty list: gone): what goes to the reconciler's
   * per-service update. Services waiting for room are retried; room this
   * call frees counts from the next call on (see `roomFreed`).
   */
  update(changes: ReadonlyMap<string, readonly Frontend[]>): Admission<Map<string, readonly Frontend[]>> {
    return this.apply(changes, new Set());
  }

  /**
   * Room a sync frees (a Service removed or replaced) is not counted as free
   * until the sync is done: the reconciler writes new entries before it
   * deletes old ones, so both are in the maps for a moment. `roomFreed` then
   * says a retry (update with no changes) after the sync may admit more.
   */
  private apply(changes: ReadonlyMap<string, readonly Frontend[]>, serving: ReadonlySet<string>): Admission<Map<string, readonly Frontend[]>> {
    const previous = new Map<string, readonly Frontend[]>();
    for (const [s, list] of changes) {
      const cur = this.admitted.get(s);
      if (cur) previous.set(s, cur); // still counted: released after this sync
      this.waiting.delete(s);
      if (list.length > 0) this.waiting.set(s, list);
    }
    // Services serving a previous version while their update waits get another try too.
    for (const s of this.waiting.keys()) {
      const cur = this.admitted.get(s);
      if (cur && !previous.has(s)) previous.set(s, cur);
    }
    for (const s of previous.keys()) this.admitted.delete(s);
    const out = new Map<string, readonly Frontend[]>();
    const kept = new Set<string>();
    const first = (s: string): boolean => previous.has(s) || serving.has(s);
    const order = [...new Set([...previous.keys(), ...serving])].sort(byName);
    order.push(...[...this.waiting.keys()].filter((s) => !first(s)).sort(byName));
    for (const s of order) {
      const want = this.waiting.get(s);
      const old = previous.get(s);
      if (want === undefined) {
        if (old) out.set(s, []); // gone from the plan
      } else if (old ? this.fits(needOf(union(old, want)), needOf(old)) : this.fits(needOf(want))) {
        this.take(s, want);
        out.set(s, want);
      } else if (old) {
        this.admitted.set(s, old); // the previous version stays, already counted
        kept.add(s);
        if (changes.has(s)) out.set(s, old);
      } else if (changes.has(s)) {
        out.set(s, []);
      }
    }
    let freed = false;
    for (const [s, old] of previous) {
      if (kept.has(s)) continue;
      this.release(old);
      freed = true;
    }
    this.roomFreed = freed && this.waiting.size > 0;
    return { admitted: out, rejected: this.rejections() };
  }

  /** Services not (fully) in the maps, by name. */
  rejections(): Rejection[] {
    return [...this.waiting].sort(([a], [b]) => byName(a, b)).map(([service, want]) => {
      const kept = this.admitted.has(service);
      const need = needOf(want);
      return {
        service, frontends: want.length, keptPrevious: kept,
        reason: `needs ${need.frontends} frontends, ${need.backends.length} backends and ${need.ranges} source ranges; `
          + `the maps hold ${this.cap.frontends} frontends (${this.frontends} used), ${this.cap.backends} backends (${this.refs.size} used), `
          + `${this.cap.sourceRanges} source ranges (${this.ranges} used)`,
      };
    });
  }

  /** `n` fits beside what is counted, `counted` (already in the counts) aside. */
  private fits(n: Need, counted: Need = NOTHING): boolean {
    if (this.frontends - counted.frontends + n.frontends > this.cap.frontends) return false;
    if (this.ranges - counted.ranges + n.ranges > this.cap.sourceRanges) return false;
    let fresh = 0;
    for (const b of n.backends) if (!this.refs.has(b)) fresh++;
    return this.refs.size + fresh <= this.cap.backends;
  }

  private take(service: string, list: readonly Frontend[]): void {
    const n = needOf(list);
    this.frontends += n.frontends;
    this.ranges += n.ranges;
    for (const b of n.backends) this.refs.set(b, (this.refs.get(b) ?? 0) + 1);
    this.admitted.set(service, list);
    this.waiting.delete(service);
  }

  private release(list: readonly Frontend[]): void {
    const n = needOf(list);
    this.frontends -= n.frontends;
    this.ranges -= n.ranges;
    for (const b of n.backends) {
      const r = (this.refs.get(b) ?? 1) - 1;
      if (r > 0) this.refs.set(b, r);
      else this.refs.delete(b);
    }
  }
}
