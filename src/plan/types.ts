/**
 * The plan: what this node must program, as `lbctl plan -o json` prints it
 * (docs/design.md §4, a contract). Every object here serializes to exactly the
 * contract keys, in contract order; anything the reconcile layer needs beyond
 * that is derived by the helpers in keys.ts and nodes.ts, never stored here.
 */

import type { IPFamily } from '../net/ip.js';

export type { IPFamily };
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export type FrontendKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalIP';
export type TrafficScope = 'Cluster' | 'Local';
/**
 * What to do with a packet for a frontend that has no backend:
 * `reject` when the service has no usable endpoint anywhere (kube-proxy answers
 * with ICMP/RST), `drop` when the frontend's policy is Local and this node has
 * none although others do.
 */
export type NoEndpointsAction = null | 'reject' | 'drop';

export interface Backend {
  readonly address: string;
  readonly port: number;
  /** endpoint.nodeName; null when the EndpointSlice does not say. */
  readonly nodeName: string | null;
  /** A serving-terminating endpoint used as the fallback when no ready one exists. */
  readonly terminating: boolean;
}

export interface Frontend {
  /** "namespace/name" */
  readonly service: string;
  /** The Service port's name ("" for a single unnamed port). */
  readonly servicePort: string;
  readonly kind: FrontendKind;
  readonly address: string;
  readonly port: number;
  readonly protocol: Protocol;
  readonly backends: readonly Backend[];
  /** ClientIP affinity timeout; null without affinity. */
  readonly sessionAffinityTimeoutSeconds: number | null;
  /** loadBalancerSourceRanges of this frontend's family (LoadBalancer frontends only); null = no filtering. */
  readonly sourceRanges: readonly string[] | null;
  readonly trafficScope: TrafficScope;
  readonly noEndpointsAction: NoEndpointsAction;
}

export interface HealthCheckNodePort {
  /** "namespace/name" */
  readonly service: string;
  readonly port: number;
  readonly localReadyEndpoints: number;
}

export interface Plan {
  readonly frontends: readonly Frontend[];
  readonly healthCheckNodePorts: readonly HealthCheckNodePort[];
}

/** This node, as the plan sees it. */
export interface PlanNode {
  readonly name: string;
  /** NodePort frontends are listed once per address; their families choose the planned families. */
  readonly addresses: readonly string[];
  /** topology.kubernetes.io/zone of this node; wins over `labels`. */
  readonly zone?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface PlanOptions {
  /**
   * Families to plan. Default: the families of `node.addresses` (in order), or
   * IPv4 alone when no address is given. kube-proxy runs one proxier per family
   * the node has; a family left out here gets no frontend at all.
   */
  readonly ipFamilies?: readonly IPFamily[];
  /**
   * Honour hints.forNodes (trafficDistribution PreferSameNode). kube-proxy's
   * PreferSameTrafficDistribution gate, on by default since Kubernetes 1.34.
   */
  readonly preferSameNodeHints?: boolean;
}

/** Something the plan chose to leave out, e.g. a frontend two services claim. */
export interface PlanWarning {
  /** "namespace/name" of the Service concerned. */
  readonly service: string;
  readonly message: string;
}

export interface PlanReport {
  readonly plan: Plan;
  readonly warnings: readonly PlanWarning[];
}
