/**
 * Identities the reconcile layer needs, derived from contract objects so the
 * plan's JSON stays exactly the contract.
 */
import { frontendKey as keyOf, protocolNumber, type FrontendKey } from '../model/keys.js';
import { ipFamilyOf } from '../net/ip.js';
import type { Frontend, IPFamily } from './types.js';

/** Unique within a plan: the datapath's lookup key {address, port, protocol}, as the reconciler keys it too. */
export function frontendKey(f: Pick<Frontend, 'address' | 'port' | 'protocol'>): FrontendKey {
  return keyOf(f.address, f.port, protocolNumber(f.protocol));
}

export function frontendFamily(f: Pick<Frontend, 'address'>): IPFamily {
  return ipFamilyOf(f.address) ?? 'IPv4';
}

/**
 * Frontends with the same backend-set key always have the same backends (one
 * Maglev table can serve them all): same service port, family and traffic scope.
 */
export function backendSetKey(f: Pick<Frontend, 'service' | 'servicePort' | 'protocol' | 'address' | 'trafficScope'>): string {
  return `${f.service}|${f.servicePort}|${f.protocol}|${frontendFamily(f)}|${f.trafficScope}`;
}
