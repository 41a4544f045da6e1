/**
 * A synthetic cluster for the control-plane benchmark: Services with one
 * EndpointSlice each (up to 100 endpoints per slice, as the EndpointSlice
 * controller cuts them), spread over nodes. Deterministic.
 *
 * Addresses: nodes 198.51.100.0/24 (docs/design.md §7); pods in the benchmark range
 * 198.18.0.0/15, numbered in order; cluster IPs in 10.96.0.0/16 (Kubernetes'
 * default service range; the benchmark never puts them on a wire, and 10,000
 * of them do not fit in a documentation range).
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { formatIpv4 } from '../../src/net/ip.js';

export interface ClusterShape {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly nodes: number;
  /** Every n-th Service is a NodePort (0 = none). */
  readonly nodePortEvery: number;
}

export const MAX_ENDPOINTS_PER_SLICE = 100;

/** The lists bench/lib/cluster-feed.ts serves, in the order they are listed: the ClusterState collection and the list's kind. */
export const LISTS = [['nodes', 'NodeList'], ['services', 'ServiceList'], ['endpointSlices', 'EndpointSliceList']] as const;

export type ListedKind = (typeof LISTS)[number][0];

const NAMESPACES = 100;

const POD_BASE = (198 << 24) | (18 << 16); // 198.18.0.0
const SVC_BASE = (10 << 24) | (96 << 16); // 10.96.0.0

export function nodeName(i: number): string {
  return `node-${i + 1}`;
}

export function nodeAddress(i: number): string {
  return `198.51.100.${i + 1}`;
}

export function serviceName(i: number): { namespace: string; name: string } {
  return { namespace: `ns-${i % NAMESPACES}`, name: `svc-${i}` };
}

/** Pod address number `n` (0-based), skipping .0 and .255 so every address looks like a host. */
export function podAddress(n: number): string {
  const perBlock = 254;
  return formatIpv4((POD_BASE + Math.floor(n / perBlock) * 256 + (n % perBlock) + 1) >>> 0);
}

export function makeNode(i: number): V1Node {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name: nodeName(i), labels: { 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
    status: { addresses: [{ type: 'InternalIP', address: nodeAddress(i) }] },
  };
}

export function makeService(i: number, shape: ClusterShape): V1Service {
  const { namespace, name } = serviceName(i);
  const nodePort = shape.nodePortEvery > 0 && i % shape.nodePortEvery === 0;
  const clusterIP = formatIpv4((SVC_BASE + 1 + i) >>> 0);
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name, namespace, resourceVersion: '1' },
    spec: {
      type: nodePort ? 'NodePort' : 'ClusterIP',
      clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack',
      sessionAffinity: 'None', internalTrafficPolicy: 'Cluster',
      ...(nodePort ? { externalTrafficPolicy: 'Cluster' } : {}),
      ports: [{
        name: 'http', protocol: 'TCP', port: 80, targetPort: 8080,
        ...(nodePort ? { nodePort: 30000 + (Math.floor(i / shape.nodePortEvery) % 2768) } : {}),
      }],
    },
  };
}

export interface EndpointState {
  /** Pod address number (see podAddress). */
  readonly pod: number;
  readonly ready: boolean;
}

/** The slices of Service `i`, endpoints as given (cut into slices of up to 100). */
export function makeSlices(i: number, shape: ClusterShape, endpoints: readonly EndpointState[], generation = 1): V1EndpointSlice[] {
  const { namespace, name } = serviceName(i);
  const out: V1EndpointSlice[] = [];
  for (let s = 0; s * MAX_ENDPOINTS_PER_SLICE < Math.max(endpoints.length, 1); s++) {
    const part = endpoints.slice(s * MAX_ENDPOINTS_PER_SLICE, (s + 1) * MAX_ENDPOINTS_PER_SLICE);
    out.push({
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: {
        name: `${name}-${s}`, namespace, resourceVersion: String(generation),
        labels: { 'kubernetes.io/service-name': name, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      endpoints: part.map((e) => ({
        addresses: [podAddress(e.pod)],
        conditions: { ready: e.ready, serving: e.ready, terminating: false },
        nodeName: nodeName(e.pod % shape.nodes),
        targetRef: { kind: 'Pod', namespace, name: `${name}-pod-${e.pod}` },
      })),
    });
  }
  return out;
}

/** Service i's initial endpoints: consecutive pod numbers, all ready. */
export function initialEndpoints(i: number, shape: ClusterShape): EndpointState[] {
  const out: EndpointState[] = [];
  for (let k = 0; k < shape.endpointsPerService; k++) out.push({ pod: i * shape.endpointsPerService + k, ready: true });
  return out;
}

export function objectKey(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace || 'default'}/${o.metadata?.name ?? ''}`;
}
