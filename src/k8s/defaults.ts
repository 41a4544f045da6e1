/**
 * API defaulting for objects written by hand (a manifests directory), so they
 * mean what the same YAML means after `kubectl apply`. Mirrors the API
 * server's SetDefaults_Service / SetDefaults_EndpointPort, plus the few fields
 * the Service registry fills in (clusterIPs, ipFamilies, ipFamilyPolicy).
 * Pure: returns new objects and never mutates its input; applying it twice
 * changes nothing, so objects that come from the API server pass unchanged.
 */
import type { V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { ipFamilyOf } from '../plan/ip.js';

export const DEFAULT_NAMESPACE = 'default';
/** v1.DefaultClientIPServiceAffinitySeconds: 3 hours. */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

/** A Service reachable from outside: NodePort, LoadBalancer, or ClusterIP with externalIPs. */
export function externallyAccessibleType(svc: V1Service): boolean {
  const type = svc.spec?.type;
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
}

function defaultPort(port: V1ServicePort): V1ServicePort {
  const targetPort = port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '' ? port.port : port.targetPort;
  return { ...port, protocol: port.protocol || 'TCP', targetPort };
}

export function defaultService(svc: V1Service): V1Service {
  const spec = { ...(svc.spec ?? {}) };
  spec.type = spec.type || 'ClusterIP';
  spec.sessionAffinity = spec.sessionAffinity || 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  if (spec.ports) spec.ports = spec.ports.map(defaultPort);
  const withType: V1Service = { ...svc, spec };
  if (externallyAccessibleType(withType) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if (!spec.internalTrafficPolicy && (spec.type === 'ClusterIP' || spec.type === 'NodePort' || spec.type === 'LoadBalancer')) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  defaultClusterIPs(spec);

  let status = svc.status;
  const ingress = status?.loadBalancer?.ingress;
  // LoadBalancerIPMode (GA in 1.32): an ingress IP without ipMode is a VIP.
  if (spec.type === 'LoadBalancer' && ingress?.some((i) => i.ip && !i.ipMode)) {
    status = {
      ...status,
      loadBalancer: { ...status?.loadBalancer, ingress: ingress.map((i) => (i.ip && !i.ipMode ? { ...i, ipMode: 'VIP' } : i)) },
    };
  }
  const metadata = { ...(svc.metadata ?? {}), namespace: svc.metadata?.namespace || DEFAULT_NAMESPACE };
  return { ...svc, metadata, spec, ...(status ? { status } : {}) };
}

/**
 * What the Service registry would have stored: clusterIP and clusterIPs agree,
 * ipFamilies follow the cluster IPs, a single family is SingleStack.
 */
function defaultClusterIPs(spec: NonNullable<V1Service['spec']>): void {
  if (spec.type === 'ExternalName') return;
  if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
  if (!spec.clusterIP && spec.clusterIPs?.length) spec.clusterIP = spec.clusterIPs[0];
  const ips = spec.clusterIPs ?? [];
  if (!spec.ipFamilies?.length && ips.length > 0 && ips[0] !== 'None') {
    const families = ips.map((ip) => ipFamilyOf(ip)).filter((f): f is 'IPv4' | 'IPv6' => f !== null);
    if (families.length === ips.length) spec.ipFamilies = families;
  }
  if (!spec.ipFamilyPolicy && spec.ipFamilies?.length) {
    spec.ipFamilyPolicy = spec.ipFamilies.length > 1 ? 'RequireDualStack' : 'SingleStack';
  }
}

export function defaultEndpointSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const metadata = { ...(slice.metadata ?? {}), namespace: slice.metadata?.namespace || DEFAULT_NAMESPACE };
  // SetDefaults_EndpointPort: a port without name is the unnamed port "", without protocol TCP.
  const ports = slice.ports?.map((p) => ({ ...p, name: p.name ?? '', protocol: p.protocol || 'TCP' }));
  return { ...slice, metadata, endpoints: slice.endpoints ?? [], ...(ports ? { ports } : {}) };
}
