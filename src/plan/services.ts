/**
 * Service -> per-family service ports, as kube-proxy's ServiceChangeTracker and
 * newBaseServiceInfo see them (pkg/proxy/servicechangetracker.go, serviceport.go).
 * Expects a defaulted Service (src/api/defaults.ts).
 */
import type { V1Service } from '../api/types.js';
import { compareCidrs, parseCidr, parseIp } from '../net/ip.js';
import type { IPFamily, Protocol } from './types.js';

export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';

/** One Service port in one IP family: everything that shapes its frontends. */
export interface ServicePortInfo {
  /** "namespace/name" */
  readonly service: string;
  readonly name: string;
  readonly protocol: Protocol;
  readonly family: IPFamily;
  readonly clusterIP: string;
  readonly port: number;
  /** 0 = no NodePort. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress IPs of this family whose ipMode is VIP or unset. */
  readonly loadBalancerVIPs: readonly string[];
  /** Canonical CIDRs of this family; empty = no filtering. */
  readonly sourceRanges: readonly string[];
  readonly affinityTimeoutSeconds: number | null;
  readonly externalPolicyLocal: boolean;
  readonly internalPolicyLocal: boolean;
  /** 0 = none. */
  readonly healthCheckNodePort: number;
}

/** Why kube-proxy would not proxy this Service at all, or null. */
export function skipReason(svc: V1Service): string | null {
  const labels = svc.metadata?.labels ?? {};
  // kube-proxy's informers select `!service-proxy-name,!headless`: such objects never reach it.
  if (LABEL_SERVICE_PROXY_NAME in labels) return `labelled ${LABEL_SERVICE_PROXY_NAME}: another proxy serves it`;
  if (LABEL_HEADLESS in labels) return `labelled ${LABEL_HEADLESS}`;
  if (svc.spec?.type === 'ExternalName') return 'type ExternalName';
  const clusterIP = svc.spec?.clusterIP ?? '';
  if (clusterIP === 'None') return 'headless (clusterIP None)';
  if (clusterIP === '') return 'no cluster IP';
  return null;
}

/** GetClusterIPByFamily: the cluster IP of `family`, or null. Tolerates objects without ipFamilies (version skew). */
export function clusterIPForFamily(svc: V1Service, family: IPFamily): string | null {
  const spec = svc.spec ?? {};
  if (!spec.ipFamilies?.length) {
    const ip = spec.clusterIP ?? '';
    if (ip === '' || ip === 'None') return null;
    return parseIp(ip)?.family === family ? ip : null;
  }
  const idx = spec.ipFamilies.indexOf(family);
  return idx >= 0 ? (spec.clusterIPs?.[idx] ?? null) : null;
}

/** ExternalPolicyLocal: externally accessible by type and externalTrafficPolicy Local. */
export function externalPolicyLocal(svc: V1Service): boolean {
  const type = svc.spec?.type;
  const accessible = type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
  return accessible && svc.spec?.externalTrafficPolicy === 'Local';
}

/** NeedsHealthCheck: only LoadBalancer Services with externalTrafficPolicy Local. */
export function needsHealthCheck(svc: V1Service): boolean {
  return svc.spec?.type === 'LoadBalancer' && externalPolicyLocal(svc);
}

function ipsOfFamily(values: readonly string[] | undefined, family: IPFamily): string[] {
  const out: string[] = [];
  for (const v of values ?? []) {
    const ip = parseIp(v);
    if (ip?.family === family && !out.includes(ip.address)) out.push(ip.address);
  }
  return out;
}

export function serviceKey(svc: V1Service): string {
  return `${svc.metadata?.namespace ?? 'default'}/${svc.metadata?.name ?? ''}`;
}

/** The Service's ports in `family`; empty when the Service is skipped or has no cluster IP of that family. */
export function servicePorts(svc: V1Service, family: IPFamily): ServicePortInfo[] {
  if (skipReason(svc) !== null) return [];
  const clusterIPText = clusterIPForFamily(svc, family);
  const clusterIP = clusterIPText === null ? null : parseIp(clusterIPText);
  if (!clusterIP || clusterIP.family !== family) return [];
  const spec = svc.spec ?? {};

  // Values of the other family are ignored, as in a single-family proxier.
  const externalIPs = ipsOfFamily(spec.externalIPs, family);
  const sourceRanges: string[] = [];
  for (const text of spec.loadBalancerSourceRanges ?? []) {
    // Validation lets whitespace through; kube-proxy trims it.
    const cidr = parseCidr(text.trim());
    if (cidr?.family === family && !sourceRanges.includes(cidr.cidr)) sourceRanges.push(cidr.cidr);
  }
  sourceRanges.sort(compareCidrs);
  // Only VIP-style load balancers: with ipMode Proxy the LB itself forwards to the nodes.
  const vipIngress = (svc.status?.loadBalancer?.ingress ?? [])
    .filter((i) => i.ip && (i.ipMode === undefined || i.ipMode === null || i.ipMode === 'VIP'))
    .map((i) => i.ip ?? '');
  const loadBalancerVIPs = ipsOfFamily(vipIngress, family);
  const affinityTimeoutSeconds = spec.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? null)
    : null;
  // A Local-policy LoadBalancer without an allocated healthCheckNodePort gets no health server.
  const healthCheckNodePort = needsHealthCheck(svc) ? (spec.healthCheckNodePort ?? 0) : 0;
  const service = serviceKey(svc);
  const external = externalPolicyLocal(svc);
  const internal = spec.internalTrafficPolicy === 'Local';
  // Written out rather than spread from a shared base: a literal of known shape is several times cheaper to build.
  return (spec.ports ?? []).map((p) => ({
    service,
    name: p.name ?? '',
    protocol: (p.protocol ?? 'TCP') as Protocol,
    family,
    clusterIP: clusterIP.address,
    port: p.port,
    nodePort: p.nodePort ?? 0,
    externalIPs,
    loadBalancerVIPs,
    sourceRanges,
    affinityTimeoutSeconds,
    externalPolicyLocal: external,
    internalPolicyLocal: internal,
    healthCheckNodePort,
  }));
}

/** Reachable other than through the cluster IP (per port, from what was kept for this family). */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.loadBalancerVIPs.length > 0 || sp.externalIPs.length > 0;
}

/** The port ever uses Cluster-policy endpoints: internal policy Cluster, or external access (which short-circuits to Cluster). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || externallyAccessible(sp);
}

export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (sp.externalPolicyLocal && externallyAccessible(sp));
}
