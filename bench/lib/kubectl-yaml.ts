/**
 * A cluster dump as `kubectl get services,endpointslices,nodes -A -o yaml`
 * writes it: one `kind: List` document, every item with the metadata the API
 * server fills in (uid, resourceVersion, creationTimestamp, managed-by
 * labels, ownerReferences, targetRefs), block style with two-space indents
 * and sequences flush with their key. Deterministic; sized by the number of
 * Services (each with one EndpointSlice of `endpointsPerService` endpoints).
 * For the `lbctl plan` benchmark.
 *
 * Addresses as in bench/lib/cluster.ts: nodes 198.51.100.0/24, pods
 * 198.18.0.0/15, cluster IPs 10.96.0.0/16, load balancer VIPs 203.0.113.0/24.
 */
import { formatIpv4 } from '../../src/net/ip.js';
import { nodeAddress, nodeName, podAddress, serviceName } from './cluster.js';

export interface DumpShape {
  readonly services: number;
  readonly endpointsPerService: number;
  readonly nodes: number;
}

const SVC_BASE = (10 << 24) | (96 << 16);
const STAMP = '2026-11-02T09:14:07Z';

function uid(kind: number, i: number): string {
  const h = ((i + 1) * 2654435761) >>> 0;
  const x = h.toString(16).padStart(8, '0');
  return `${x}-${(kind * 4099 + i).toString(16).padStart(4, '0').slice(-4)}-4${x.slice(0, 3)}-8${x.slice(3, 6)}-${x}${x.slice(0, 4)}`;
}

function node(i: number): string {
  return `- apiVersion: v1
  kind: Node
  metadata:
    annotations:
      node.alpha.kubernetes.io/ttl: "0"
      volumes.kubernetes.io/controller-managed-attach-detach: "true"
    creationTimestamp: "${STAMP}"
    labels:
      beta.kubernetes.io/arch: amd64
      beta.kubernetes.io/os: linux
      kubernetes.io/arch: amd64
      kubernetes.io/hostname: ${nodeName(i)}
      kubernetes.io/os: linux
      topology.kubernetes.io/zone: zone-${i % 3}
    name: ${nodeName(i)}
    resourceVersion: "${1000 + i}"
    uid: ${uid(0, i)}
  spec:
    podCIDR: 198.18.${i}.0/24
    podCIDRs:
    - 198.18.${i}.0/24
  status:
    addresses:
    - address: ${nodeAddress(i)}
      type: InternalIP
    - address: ${nodeName(i)}
      type: Hostname
`;
}

/** Load balancer VIP number j (0-507): 203.0.113.0/24, then 192.0.2.0/24. */
function vip(j: number): string {
  return j < 254 ? `203.0.113.${j + 1}` : `192.0.2.${(j - 254) % 254 + 1}`;
}

/** Every 10th Service is a LoadBalancer (Local policy), every 10th + 5 a NodePort, the rest ClusterIP. */
function service(i: number): string {
  const { namespace, name } = serviceName(i);
  const clusterIP = formatIpv4((SVC_BASE + 10 + i) >>> 0);
  const kind = i % 10 === 0 ? 'LoadBalancer' : i % 10 === 5 ? 'NodePort' : 'ClusterIP';
  const external = kind !== 'ClusterIP';
  const nodePort = (p: number): string => (external ? `\n      nodePort: ${30000 + ((i * 2 + p) % 2768)}` : '');
  const lb = kind === 'LoadBalancer';
  return `- apiVersion: v1
  kind: Service
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"labels":{"app.kubernetes.io/name":"${name}"},"name":"${name}","namespace":"${namespace}"},"spec":{"ports":[{"name":"http","port":80,"targetPort":"http"},{"name":"metrics","port":9090,"targetPort":9090}],"selector":{"app.kubernetes.io/name":"${name}"},"type":"${kind}"}}
    creationTimestamp: "${STAMP}"
    labels:
      app.kubernetes.io/name: ${name}
    name: ${name}
    namespace: ${namespace}
    resourceVersion: "${20000 + i}"
    uid: ${uid(1, i)}
  spec:${lb ? '\n    allocateLoadBalancerNodePorts: true' : ''}
    clusterIP: ${clusterIP}
    clusterIPs:
    - ${clusterIP}${external ? `\n    externalTrafficPolicy: ${lb ? 'Local' : 'Cluster'}` : ''}${lb ? `\n    healthCheckNodePort: ${32000 + i / 10}` : ''}
    internalTrafficPolicy: Cluster
    ipFamilies:
    - IPv4
    ipFamilyPolicy: SingleStack
    ports:
    - name: http${nodePort(0)}
      port: 80
      protocol: TCP
      targetPort: http
    - name: metrics${nodePort(1)}
      port: 9090
      protocol: TCP
      targetPort: 9090
    selector:
      app.kubernetes.io/name: ${name}
    sessionAffinity: None
    type: ${kind}
  status:
    loadBalancer:${lb ? `\n      ingress:\n      - ip: ${vip(i / 10)}\n        ipMode: VIP` : ' {}'}
`;
}

function endpointSlice(i: number, shape: DumpShape): string {
  const { namespace, name } = serviceName(i);
  let endpoints = '';
  for (let e = 0; e < shape.endpointsPerService; e++) {
    const n = i * shape.endpointsPerService + e;
    const onNode = n % shape.nodes;
    endpoints += `  - addresses:
    - ${podAddress(n)}
    conditions:
      ready: true
      serving: true
      terminating: false
    nodeName: ${nodeName(onNode)}
    targetRef:
      kind: Pod
      name: ${name}-7d9c8b${(n % 1000).toString().padStart(3, '0')}-x${e}q4z
      namespace: ${namespace}
      uid: ${uid(3, n)}
    zone: zone-${onNode % 3}
`;
  }
  return `- addressType: IPv4
  apiVersion: discovery.k8s.io/v1
  endpoints:
${endpoints}  kind: EndpointSlice
  metadata:
    annotations:
      endpoints.kubernetes.io/last-change-trigger-time: "${STAMP}"
    creationTimestamp: "${STAMP}"
    generateName: ${name}-
    generation: 3
    labels:
      app.kubernetes.io/name: ${name}
      endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io
      kubernetes.io/service-name: ${name}
    name: ${name}-b${(i % 100000).toString(36).padStart(4, '0')}
    namespace: ${namespace}
    ownerReferences:
    - apiVersion: v1
      blockOwnerDeletion: true
      controller: true
      kind: Service
      name: ${name}
      uid: ${uid(1, i)}
    resourceVersion: "${60000 + i}"
    uid: ${uid(2, i)}
  ports:
  - name: http
    port: 8080
    protocol: TCP
  - name: metrics
    port: 9090
    protocol: TCP
`;
}

/**
 * `list`: one List document, as `kubectl get -o yaml` writes several objects;
 * `documents`: the same objects one per document (`---`), as rendered charts are.
 */
export function kubectlDump(shape: DumpShape, layout: 'list' | 'documents' = 'list'): string {
  const items: string[] = [];
  for (let i = 0; i < shape.nodes; i++) items.push(node(i));
  for (let i = 0; i < shape.services; i++) items.push(service(i));
  for (let i = 0; i < shape.services; i++) items.push(endpointSlice(i, shape));
  if (layout === 'documents') return items.map((item) => item.slice(2).replace(/\n {2}/g, '\n')).join('---\n');
  return `apiVersion: v1\nitems:\n${items.join('')}kind: List\nmetadata:\n  resourceVersion: ""\n`;
}
