/**
 * Conflicts between Services, kept incrementally: per frontend key and per
 * healthCheckNodePort, the parts claiming it in report order. The first owns
 * it; the others get a warning naming it (as assemblePlan does). Keeping the
 * claimants lets a re-planned Service re-assemble only the Services that share
 * a key with it.
 */
import { comparePart, type Assembled, type Part } from './cache-part.js';
import type { Frontend, HealthCheckNodePort, PlanWarning } from './types.js';

export class Claims {
  /** frontendKey -> parts claiming it, in report order; the first owns it. */
  readonly frontends = new Map<string, Part[]>();
  /** healthCheckNodePort -> parts claiming it, in report order. */
  readonly ports = new Map<number, Part[]>();

  clear(): void {
    this.frontends.clear();
    this.ports.clear();
  }

  /** The frontend the owner of `key` (frontendKey) plans, if any. */
  frontend(key: string): Frontend | undefined {
    const owner = this.frontends.get(key)?.[0];
    return owner?.plan.frontends[owner.fkeys.indexOf(key)];
  }

  /** The health check node port its owner plans, if any. */
  port(port: number): HealthCheckNodePort | undefined {
    return this.ports.get(port)?.[0]?.plan.healthCheckNodePort ?? undefined;
  }

  /** Adds `part` after every claimant: parts must come in report order (a full build). */
  append(part: Part): void {
    for (const k of part.fkeys) pushTo(this.frontends, k, part);
    const hc = part.plan.healthCheckNodePort;
    if (hc) pushTo(this.ports, hc.port, part);
  }

  /** Adds `part` to its keys' claimants in report order; adds to `dirty` the parts whose contribution may change. */
  insert(part: Part, dirty: Set<Part>): void {
    for (const k of part.fkeys) insertClaim(this.frontends, k, part, dirty);
    const hc = part.plan.healthCheckNodePort;
    if (hc) insertClaim(this.ports, hc.port, part, dirty);
  }

  /** Takes `part` out of its keys' claimants; adds to `dirty` the parts whose contribution may change. */
  remove(part: Part, dirty: Set<Part>): void {
    for (const k of part.fkeys) removeClaim(this.frontends, k, part, dirty);
    const hc = part.plan.healthCheckNodePort;
    if (hc) removeClaim(this.ports, hc.port, part, dirty);
  }

  /** The part's contribution given the current claims (assemblePlan's loop body); recorded on the part. */
  assemble(part: Part): Assembled {
    const { plan, fkeys } = part;
    let frontends: Frontend[] | null = null;
    let warnings: PlanWarning[] | null = null;
    for (let i = 0; i < fkeys.length; i++) {
      const k = fkeys[i] as string;
      const owner = (this.frontends.get(k) as Part[])[0] as Part;
      if (owner === part) {
        frontends?.push(plan.frontends[i] as Frontend);
        continue;
      }
      frontends ??= plan.frontends.slice(0, i);
      warnings ??= [...plan.warnings];
      const f = plan.frontends[i] as Frontend;
      const first = owner.plan.frontends[owner.fkeys.indexOf(k)] as Frontend;
      warnings.push({
        service: f.service,
        message: `${f.kind} ${f.address}:${f.port}/${f.protocol} is already ${first.service}'s ${first.kind} frontend; left out`,
      });
    }
    let healthCheckNodePort = plan.healthCheckNodePort;
    if (healthCheckNodePort) {
      const owner = (this.ports.get(healthCheckNodePort.port) as Part[])[0] as Part;
      if (owner !== part) {
        const first = owner.plan.healthCheckNodePort as HealthCheckNodePort;
        warnings ??= [...plan.warnings];
        warnings.push({
          service: healthCheckNodePort.service,
          message: `healthCheckNodePort ${healthCheckNodePort.port} is already ${first.service}'s; left out`,
        });
        healthCheckNodePort = null;
      }
    }
    const a: Assembled = { part, frontends: frontends ?? plan.frontends, warnings: warnings ?? plan.warnings, healthCheckNodePort };
    part.assembled = a;
    return a;
  }
}

function pushTo<K>(claims: Map<K, Part[]>, key: K, part: Part): void {
  const list = claims.get(key);
  if (list) list.push(part);
  else claims.set(key, [part]);
}

/** Adds `part` to the key's claimants in report order; the others' contributions may change. */
function insertClaim<K>(claims: Map<K, Part[]>, key: K, part: Part, dirty: Set<Part>): void {
  const list = claims.get(key);
  if (!list) {
    claims.set(key, [part]);
    return;
  }
  let i = 0;
  while (i < list.length && comparePart(list[i] as Part, part) < 0) i++;
  list.splice(i, 0, part);
  for (const p of list) dirty.add(p);
}

function removeClaim<K>(claims: Map<K, Part[]>, key: K, part: Part, dirty: Set<Part>): void {
  const list = claims.get(key);
  if (!list) return;
  const i = list.indexOf(part);
  if (i < 0) return;
  if (list.length === 1) {
    claims.delete(key);
    return;
  }
  list.splice(i, 1);
  for (const p of list) dirty.add(p);
}
