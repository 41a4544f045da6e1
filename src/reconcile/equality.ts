/**
 * Field-by-field equality of everything the reconciler compares to decide
 * whether to write: the desired state's shapes (desired-types.ts) and the map
 * values (src/bpf/codecs/services.ts). One module, so a field added to a type
 * is compared here or listed as not compared, with the reason
 * (test/unit/reconcile-equality.test.ts fails otherwise).
 */
import type { Lb4Backend, Lb4Frontend, Lb4Revnat, Lb4Service } from '../bpf/codecs/services.js';
import type { Backend } from '../plan/types.js';
import type { DesiredBackend, DesiredFrontend, DesiredGroup, ServiceDesired, SourceRange } from './desired-types.js';

/** Fields not compared, and why: each follows from a field that is. */
export const NOT_COMPARED = {
  /** lbKey is the key's fields. */
  desiredFrontend: ['lbKey'],
  /** The key is address|port|proto; the name is address:port. */
  desiredBackend: ['name', 'address', 'port', 'proto'],
  /** The generation is the slot's, not part of what is wanted. */
  lb4Backend: ['generation'],
  lb4Frontend: ['generation'],
  /** A terminating endpoint is a backend like any other once planned (the plan chose it). */
  planBackend: ['terminating'],
} as const;

export function sameService(a: Lb4Service, b: Lb4Service): boolean {
  return a.serviceId === b.serviceId && a.affinityTimeout === b.affinityTimeout && a.backendCount === b.backendCount
    && a.revnatId === b.revnatId && a.flags === b.flags && a.kind === b.kind && a.internalRevnat === b.internalRevnat
    && a.maglevSize === b.maglevSize;
}

/** Same backend, same state. */
export function sameBackend(a: Lb4Backend, b: Lb4Backend): boolean {
  return a.address === b.address && a.port === b.port && a.proto === b.proto && a.flags === b.flags && a.nodeId === b.nodeId;
}

export function sameRevnat(a: Lb4Revnat, b: Lb4Revnat): boolean {
  return a.address === b.address && a.port === b.port;
}

/** Same frontend in an lb4_frontends slot. */
export function sameFrontendSlot(a: Lb4Frontend, b: Pick<Lb4Frontend, 'serviceId' | 'flags'>): boolean {
  return a.serviceId === b.serviceId && a.flags === b.flags;
}

/** Same plan backends, in the same order (what a desired group is built from). */
export function samePlanBackends(a: readonly Backend[], b: readonly Backend[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!samePlanBackend(a[i] as Backend, b[i] as Backend)) return false;
  return true;
}

export function samePlanBackend(x: Backend, y: Backend): boolean {
  return x.address === y.address && x.port === y.port && x.nodeName === y.nodeName;
}

export function sameDesiredFrontend(x: DesiredFrontend, y: DesiredFrontend): boolean {
  return x.key === y.key && x.groupKey === y.groupKey && x.flags === y.flags && x.affinityTimeout === y.affinityTimeout
    && x.backendCount === y.backendCount && x.kind === y.kind && x.internalFrontend === y.internalFrontend;
}

export function sameDesiredBackend(p: DesiredBackend, q: DesiredBackend): boolean {
  return p.key === q.key && p.nodeId === q.nodeId;
}

export function sameSourceRange(p: SourceRange, q: SourceRange): boolean {
  return p.address === q.address && p.prefixLength === q.prefixLength;
}

export function sameDesiredGroup(x: DesiredGroup, y: DesiredGroup): boolean {
  if (x.key !== y.key || x.maglevSize !== y.maglevSize || x.backends.length !== y.backends.length
    || x.sourceRanges.length !== y.sourceRanges.length) return false;
  for (let j = 0; j < x.backends.length; j++) if (!sameDesiredBackend(x.backends[j] as DesiredBackend, y.backends[j] as DesiredBackend)) return false;
  for (let j = 0; j < x.sourceRanges.length; j++) if (!sameSourceRange(x.sourceRanges[j] as SourceRange, y.sourceRanges[j] as SourceRange)) return false;
  return true;
}

/**
 * True when two service states program exactly the same entries (ids aside).
 * Warnings are not entries; the service name is the caller's key.
 */
export function sameServiceDesired(a: ServiceDesired, b: ServiceDesired): boolean {
  if (a.frontends.length !== b.frontends.length || a.groups.length !== b.groups.length) return false;
  for (let i = 0; i < a.frontends.length; i++) if (!sameDesiredFrontend(a.frontends[i] as DesiredFrontend, b.frontends[i] as DesiredFrontend)) return false;
  for (let i = 0; i < a.groups.length; i++) if (!sameDesiredGroup(a.groups[i] as DesiredGroup, b.groups[i] as DesiredGroup)) return false;
  return true;
}

export function sameMap<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
