/**
 * What has been applied, per service, and what follows from it: which
 * service owns each frontend, how many groups list each backend. And change
 * detection: which services of a plan differ from what was applied.
 */
import { frontendsByService, buildServiceDesired, type DesiredContext } from './desired.js';
import type { DesiredFrontend, ServiceDesired } from './desired-types.js';
import { sameServiceDesired } from './equality.js';
import type { BackendKey, FrontendKey, L4Address } from '../model/keys.js';
import type { Frontend } from '../plan/types.js';

/** What detection remembers about a service's frontends, to recognise them next time. */
interface Seen { frontends: readonly Frontend[]; epoch: number }

/** Frontends that gained or lost their owner in one change of ownership. */
export interface OwnershipChange {
  readonly added: L4Address[];
  readonly removed: L4Address[];
}

export class AppliedServices {
  readonly services = new Map<string, ServiceDesired>();
  readonly frontendOwner = new Map<FrontendKey, string>();
  /** Backend key -> number of groups listing it. */
  readonly backendRefs = new Map<BackendKey, number>();
  private readonly seen = new Map<string, Seen>();
  private epoch = 0;

  /** Takes the changes' ownership over (olds give theirs up first); says which frontends came and went. */
  updateOwnership(olds: readonly ServiceDesired[], news: readonly ServiceDesired[]): OwnershipChange {
    /** Whether each frontend touched had an owner before, and its latest version. */
    const before = new Map<FrontendKey, boolean>();
    const latest = new Map<FrontendKey, DesiredFrontend>();
    const touch = (f: DesiredFrontend): void => {
      if (!before.has(f.key)) before.set(f.key, this.frontendOwner.has(f.key));
      latest.set(f.key, f);
    };
    for (const o of olds) {
      for (const f of o.frontends) {
        touch(f);
        if (this.frontendOwner.get(f.key) === o.service) this.frontendOwner.delete(f.key);
      }
      for (const g of o.groups) {
        for (const b of g.backends) {
          const n = (this.backendRefs.get(b.key) ?? 0) - 1;
          if (n > 0) this.backendRefs.set(b.key, n);
          else this.backendRefs.delete(b.key);
        }
      }
    }
    for (const s of news) {
      for (const f of s.frontends) {
        touch(f);
        this.frontendOwner.set(f.key, s.service);
      }
      for (const g of s.groups) for (const b of g.backends) this.backendRefs.set(b.key, (this.backendRefs.get(b.key) ?? 0) + 1);
    }
    const added: L4Address[] = [];
    const removed: L4Address[] = [];
    for (const [key, was] of before) {
      const is = this.frontendOwner.has(key);
      if (was !== is) (is ? added : removed).push((latest.get(key) as DesiredFrontend).lbKey);
    }
    return { added, removed };
  }

  /** Records a sync's changes as applied. */
  commit(changes: ReadonlyMap<string, ServiceDesired | null>): void {
    for (const [s, next] of changes) {
      if (next) {
        this.services.set(s, next);
      } else {
        this.services.delete(s);
        this.seen.delete(s);
      }
    }
  }

  /** Forgets how a service's frontends looked (they are compared by content next time). */
  forget(service: string): void {
    this.seen.delete(service);
  }

  /** Services that differ from what was applied: the new state, or null for a service to remove. */
  changesFor(changes: ReadonlyMap<string, readonly Frontend[]>, ctx: DesiredContext): Map<string, ServiceDesired | null> {
    const out = new Map<string, ServiceDesired | null>();
    for (const [service, frontends] of changes) {
      this.seen.delete(service);
      const next = frontends.length === 0 ? null : buildServiceDesired(service, frontends, ctx);
      const prev = this.services.get(service);
      if (next === null ? prev !== undefined : !prev || !sameServiceDesired(prev, next)) out.set(service, next);
    }
    return out;
  }

  /**
   * Walks the plan's frontends service by service (a plan lists a service's
   * frontends together); a service whose Frontend objects are the very ones
   * seen last time is unchanged without looking inside. Others are built
   * and compared with what was applied.
   */
  changedServices(frontends: readonly Frontend[], ctx: DesiredContext, rebuildAll: boolean): Map<string, ServiceDesired | null> {
    const epoch = ++this.epoch;
    const changes = new Map<string, ServiceDesired | null>();
    let planned = 0;
    let scattered = false;
    const consider = (service: string, from: number, to: number): void => {
      planned++;
      const seen = this.seen.get(service);
      if (seen && seen.epoch === epoch) scattered = true;
      if (!rebuildAll && seen && this.services.has(service) && sameRange(seen.frontends, frontends, from, to)) {
        seen.epoch = epoch;
        return;
      }
      const list = frontends.slice(from, to);
      this.seen.set(service, { frontends: list, epoch });
      const next = buildServiceDesired(service, list, ctx);
      const prev = this.services.get(service);
      if (!prev || !sameServiceDesired(prev, next)) changes.set(service, next);
    };
    for (let i = 0; i < frontends.length;) {
      const service = (frontends[i] as Frontend).service;
      let j = i + 1;
      while (j < frontends.length && (frontends[j] as Frontend).service === service) j++;
      consider(service, i, j);
      i = j;
    }
    if (scattered) {
      // A service's frontends were not together: group them properly and start over.
      this.seen.clear();
      changes.clear();
      planned = 0;
      const again = ++this.epoch;
      for (const [service, list] of frontendsByService(frontends)) {
        planned++;
        this.seen.set(service, { frontends: list, epoch: again });
        const next = buildServiceDesired(service, list, ctx);
        const prev = this.services.get(service);
        if (!prev || !sameServiceDesired(prev, next)) changes.set(service, next);
      }
    }
    // Services that left the plan.
    const added = [...changes.keys()].filter((s) => !this.services.has(s)).length;
    if (this.services.size > planned - added) {
      const current = this.epoch;
      for (const service of this.services.keys()) {
        if (this.seen.get(service)?.epoch !== current) {
          changes.set(service, null);
          this.seen.delete(service);
        }
      }
    }
    return changes;
  }
}

/** `seen` holds exactly the objects plan[from, to) holds, in order. */
function sameRange(seen: readonly Frontend[], plan: readonly Frontend[], from: number, to: number): boolean {
  if (seen.length !== to - from) return false;
  for (let i = 0; i < seen.length; i++) if (seen[i] !== plan[from + i]) return false;
  return true;
}
