/**
 * API defaulting for objects written by hand (a manifests directory), so they
 * mean what the same YAML means after `kubectl apply`. Mirrors the API
 * server's SetDefaults_Service / SetDefaults_EndpointPort, plus the few fields
 * the Service registry fills in (clusterIPs, ipFamilies, ipFamilyPolicy).
 * Pure: never mutates its input; applying it twice changes nothing, so
 * objects that come from the API server pass unchanged (the very same object).
 */
import type { DiscoveryV1EndpointPort as V1EndpointPort, V1EndpointSlice, V1Service, V1ServicePort } from '@kubernetes/client-node';
import { ipFamilyOf } from '../net/ip.js';

export const DEFAULT_NAMESPACE = 'default';
/** v1.DefaultClientIPServiceAffinitySeconds: 3 hours. */
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;

/** A Service reachable from outside: NodePort, LoadBalancer, or ClusterIP with externalIPs. */
export function externallyAccessibleType(svc: V1Service): boolean {
  const type = svc.spec?.type;
  return type === 'LoadBalancer' || type === 'NodePort' || (type === 'ClusterIP' && (svc.spec?.externalIPs?.length ?? 0) > 0);
}

function defaultPort(port: V1ServicePort): V1ServicePort {
  const defaultTarget = port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '';
  if (port.protocol && !defaultTarget) return port;
  return { ...port, protocol: port.protocol || 'TCP', targetPort: defaultTarget ? port.port : port.targetPort };
}

/** `list` mapped through `f`, or null when `f` returned every element itself. */
function mapChanged<T>(list: readonly T[], f: (x: T) => T): T[] | null {
  let out: T[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const x = list[i] as T;
    const y = f(x);
    if (y !== x && out === null) out = list.slice(0, i);
    out?.push(y);
  }
  return out;
}

type ServiceSpec = NonNullable<V1Service['spec']>;

/** An object copied on its first write, so that input already defaulted costs no copy. */
class CopyOnWrite<T extends object> {
  private copy: T | undefined;
  constructor(private readonly given: T) {}
  /** The current value: the input, or the copy once written. */
  get value(): T {
    return this.copy ?? this.given;
  }
  get copied(): boolean {
    return this.copy !== undefined;
  }
  set<K extends keyof T>(key: K, v: T[K]): void {
    this.copy ??= { ...this.given };
    this.copy[key] = v;
  }
  delete(key: keyof T): void {
    if (!(key in this.value)) return;
    this.copy ??= { ...this.given };
    delete this.copy[key];
  }
}

/**
 * The API server's objects are defaulted already: they come back as they
 * are (a source validates every object, and the plan defaults again), and
 * only an object that lacks a default is copied.
 */
export function defaultService(svc: V1Service): V1Service {
  const spec = new CopyOnWrite<ServiceSpec>(svc.spec ?? {});
  if (!spec.value.type) spec.set('type', 'ClusterIP');
  if (!spec.value.sessionAffinity) spec.set('sessionAffinity', 'None');
  if (spec.value.sessionAffinity === 'None') spec.delete('sessionAffinityConfig');
  if (spec.value.sessionAffinity === 'ClientIP' && spec.value.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.set('sessionAffinityConfig', { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } });
  }
  const ports = spec.value.ports;
  const defaultedPorts = ports ? mapChanged(ports, defaultPort) : null;
  if (defaultedPorts) spec.set('ports', defaultedPorts);
  if (externallyAccessibleType({ spec: spec.value }) && !spec.value.externalTrafficPolicy) spec.set('externalTrafficPolicy', 'Cluster');
  const type = spec.value.type;
  if (!spec.value.internalTrafficPolicy && (type === 'ClusterIP' || type === 'NodePort' || type === 'LoadBalancer')) {
    spec.set('internalTrafficPolicy', 'Cluster');
  }
  if (type === 'LoadBalancer' && spec.value.allocateLoadBalancerNodePorts === undefined) spec.set('allocateLoadBalancerNodePorts', true);
  defaultClusterIPs(spec);

  let status = svc.status;
  const ingress = status?.loadBalancer?.ingress;
  // LoadBalancerIPMode (GA in 1.32): an ingress IP without ipMode is a VIP.
  const vipModes = type === 'LoadBalancer' && ingress !== undefined && ingress.some((i) => i.ip && !i.ipMode);
  if (vipModes) {
    status = {
      ...status,
      loadBalancer: { ...status?.loadBalancer, ingress: ingress.map((i) => (i.ip && !i.ipMode ? { ...i, ipMode: 'VIP' } : i)) },
    };
  }
  const namespaced = Boolean(svc.metadata?.namespace);
  if (!spec.copied && !vipModes && namespaced) return svc;
  const metadata = namespaced ? svc.metadata : { ...(svc.metadata ?? {}), namespace: DEFAULT_NAMESPACE };
  return { ...svc, metadata, spec: spec.value, ...(status ? { status } : {}) };
}

/**
 * What the Service registry would have stored: clusterIP and clusterIPs agree,
 * ipFamilies follow the cluster IPs, a single family is SingleStack.
 */
function defaultClusterIPs(spec: CopyOnWrite<ServiceSpec>): void {
  if (spec.value.type === 'ExternalName') return;
  const first = spec.value.clusterIP;
  if (first && !spec.value.clusterIPs?.length) spec.set('clusterIPs', [first]);
  if (!spec.value.clusterIP && spec.value.clusterIPs?.length) spec.set('clusterIP', spec.value.clusterIPs?.[0]);
  const ips = spec.value.clusterIPs ?? [];
  if (!spec.value.ipFamilies?.length && ips.length > 0 && ips[0] !== 'None') {
    const families = ips.map((ip) => ipFamilyOf(ip)).filter((f): f is 'IPv4' | 'IPv6' => f !== null);
    if (families.length === ips.length) spec.set('ipFamilies', families);
  }
  const ipFamilies = spec.value.ipFamilies;
  if (!spec.value.ipFamilyPolicy && ipFamilies?.length) spec.set('ipFamilyPolicy', ipFamilies.length > 1 ? 'RequireDualStack' : 'SingleStack');
}

function defaultEndpointPort(p: V1EndpointPort): V1EndpointPort {
  return p.name !== undefined && p.name !== null && p.protocol ? p : { ...p, name: p.name ?? '', protocol: p.protocol || 'TCP' };
}

/** Copy-on-write like defaultService. */
export function defaultEndpointSlice(slice: V1EndpointSlice): V1EndpointSlice {
  const namespaced = Boolean(slice.metadata?.namespace);
  // SetDefaults_EndpointPort: a port without name is the unnamed port "", without protocol TCP.
  const ports = slice.ports ? mapChanged(slice.ports, defaultEndpointPort) : null;
  if (namespaced && slice.endpoints && !ports) return slice;
  const metadata = namespaced ? slice.metadata : { ...(slice.metadata ?? {}), namespace: DEFAULT_NAMESPACE };
  return { ...slice, metadata, endpoints: slice.endpoints ?? [], ...(ports ? { ports } : {}) };
}
