/**
 * The Kubernetes objects the lab's agents read from their --manifests
 * directory (pure: topology + options -> YAML text).
 */
import { stringify } from 'yaml';
import { POD_CLOSED_UDP_PORT, POD_HTTP_PORT, POD_UDP_PORT } from './pod-server.js';
import type { LabTopology } from './topology.js';

export const LAB_NAMESPACE = 'lab';
export const LAB_SERVICE = 'web';
export const LAB_CLUSTER_IP = '203.0.113.1';
export const LAB_VIP = '203.0.113.10';
export const LAB_HTTP_PORT = 80;
export const LAB_IPERF_PORT = 5201;
export const LAB_UDP_PORT = 53;
/** UDP to this frontend port reaches a pod port nothing listens on. */
export const LAB_CLOSED_UDP_PORT = 54;
export const LAB_NODE_PORT = 30080;
export const LAB_HEALTH_CHECK_NODE_PORT = 30900;

export interface LabServiceOptions {
  /** Pods (by name) left out of the EndpointSlice. */
  readonly without?: readonly string[];
  /** Pods (by name) marked terminating (serving, not ready). */
  readonly terminating?: readonly string[];
  /** Only these nodes' pods serve (e.g. the bench's 1, 2, 3 backend nodes). */
  readonly onlyNodes?: readonly string[];
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
  readonly loadBalancerSourceRanges?: readonly string[];
}

function nodeObject(name: string, address: string): Record<string, unknown> {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    status: { addresses: [{ type: 'InternalIP', address }, { type: 'Hostname', address: name }] },
  };
}

export function labManifests(topo: LabTopology, opts: LabServiceOptions = {}): string {
  const local = opts.externalTrafficPolicy === 'Local';
  const service = {
    apiVersion: 'v1', kind: 'Service',
    metadata: { namespace: LAB_NAMESPACE, name: LAB_SERVICE },
    spec: {
      type: 'LoadBalancer',
      clusterIP: LAB_CLUSTER_IP,
      clusterIPs: [LAB_CLUSTER_IP],
      ipFamilies: ['IPv4'],
      externalTrafficPolicy: opts.externalTrafficPolicy ?? 'Cluster',
      ...(local ? { healthCheckNodePort: LAB_HEALTH_CHECK_NODE_PORT } : {}),
      ...(opts.loadBalancerSourceRanges ? { loadBalancerSourceRanges: [...opts.loadBalancerSourceRanges] } : {}),
      selector: { app: LAB_SERVICE },
      ports: [
        { name: 'http', protocol: 'TCP', port: LAB_HTTP_PORT, targetPort: POD_HTTP_PORT, nodePort: LAB_NODE_PORT },
        { name: 'iperf', protocol: 'TCP', port: LAB_IPERF_PORT, targetPort: LAB_IPERF_PORT, nodePort: LAB_NODE_PORT + 1 },
        { name: 'echo', protocol: 'UDP', port: LAB_UDP_PORT, targetPort: POD_UDP_PORT, nodePort: LAB_NODE_PORT + 2 },
        { name: 'closed', protocol: 'UDP', port: LAB_CLOSED_UDP_PORT, targetPort: POD_CLOSED_UDP_PORT, nodePort: LAB_NODE_PORT + 3 },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: LAB_VIP }] } },
  };
  const endpoints = topo.nodes
    .filter((n) => !opts.onlyNodes || opts.onlyNodes.includes(n.name))
    .flatMap((n) => n.pods.map((p) => ({ node: n.name, pod: p })))
    .filter(({ pod }) => !(opts.without ?? []).includes(pod.name))
    .map(({ node, pod }) => {
      const terminating = (opts.terminating ?? []).includes(pod.name);
      return {
        addresses: [pod.address],
        nodeName: node,
        targetRef: { kind: 'Pod', namespace: LAB_NAMESPACE, name: pod.name },
        conditions: { ready: !terminating, serving: true, terminating },
      };
    });
  const slice = {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: LAB_NAMESPACE, name: `${LAB_SERVICE}-lab`, labels: { 'kubernetes.io/service-name': LAB_SERVICE } },
    addressType: 'IPv4',
    endpoints,
    ports: [
      { name: 'http', protocol: 'TCP', port: POD_HTTP_PORT },
      { name: 'iperf', protocol: 'TCP', port: LAB_IPERF_PORT },
      { name: 'echo', protocol: 'UDP', port: POD_UDP_PORT },
      { name: 'closed', protocol: 'UDP', port: POD_CLOSED_UDP_PORT },
    ],
  };
  const docs = [service, slice, ...topo.nodes.map((n) => nodeObject(n.name, n.address))];
  return docs.map((d) => stringify(d)).join('---\n');
}
