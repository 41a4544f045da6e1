/**
 * One Service's plan as the plan cache holds it, and the order of the report
 * (service name, then ClusterState key). Kept apart so the claims, the report
 * order and the cache share one definition of a part and of its sort key.
 */
import { frontendKey } from './keys.js';
import type { ServicePlan } from './plan.js';
import { frontendEqual, healthCheckEqual, warningsEqual } from './plan-equal.js';
import type { Frontend, HealthCheckNodePort, PlanWarning } from './types.js';

/** One Service's plan, as the cache holds it. Re-planning makes a new one. */
export interface Part {
  /** ClusterState key. */
  readonly key: string;
  /** serviceKey of the raw object: what its slices name (buildPlanReport's index key). */
  readonly identity: string;
  readonly plan: ServicePlan;
  /** frontendKey of plan.frontends[i]. */
  readonly fkeys: readonly string[];
  /** Its current contribution (set by assemble; the only mutable field). */
  assembled?: Assembled;
}

/** A Part after conflicts with other Services: what it contributes to the report. */
export interface Assembled {
  readonly part: Part;
  readonly frontends: readonly Frontend[];
  readonly warnings: readonly PlanWarning[];
  readonly healthCheckNodePort: HealthCheckNodePort | null;
}

export const NONE: readonly never[] = Object.freeze([]);

/** Stands in the report order until the part is assembled (PlanCache's step 5 always replaces it). */
export function placeholder(part: Part): Assembled {
  return { part, frontends: NONE, warnings: NONE, healthCheckNodePort: null };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function comparePart(a: Part, b: Part): number {
  return cmp(a.plan.service, b.plan.service) || cmp(a.key, b.key);
}

/**
 * A Part for `plan`, reusing the previous part's objects where equal: the same
 * Frontend objects when a frontend did not change (consumers can compare with
 * ===), and the previous ServicePlan itself when nothing changed.
 */
export function makePart(key: string, identity: string, plan: ServicePlan, old: Part | undefined): Part {
  const fkeys = plan.frontends.map(frontendKey);
  if (!old) return { key, identity, plan, fkeys };
  const prev = old.plan;
  let same = prev.service === plan.service && prev.frontends.length === plan.frontends.length
    && healthCheckEqual(prev.healthCheckNodePort, plan.healthCheckNodePort) && warningsEqual(prev.warnings, plan.warnings);
  let frontends: Frontend[] | null = null;
  for (let i = 0; i < plan.frontends.length; i++) {
    const f = plan.frontends[i] as Frontend;
    const j = old.fkeys[i] === fkeys[i] ? i : old.fkeys.indexOf(fkeys[i] as string);
    const g = j < 0 ? undefined : prev.frontends[j];
    if (g && frontendEqual(f, g)) {
      if (!frontends) frontends = plan.frontends.slice(0, i);
      frontends.push(g);
      if (j !== i) same = false;
    } else {
      same = false;
      frontends?.push(f);
    }
  }
  if (same) return old.identity === identity ? old : { key, identity, plan: prev, fkeys: old.fkeys };
  return { key, identity, plan: frontends ? { ...plan, frontends } : plan, fkeys };
}
