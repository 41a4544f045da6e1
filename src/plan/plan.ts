/**
 * buildPlan: (cluster state, this node, options) -> Plan. Pure and
 * deterministic; kube-proxy's semantics, one pass per IP family as kube-proxy
 * runs one proxier per family. planService/assemblePlan are the same thing
 * cut per Service, so a consumer can re-plan only the Service whose objects
 * changed and keep the other Services' parts.
 */
import { defaultEndpointSlice, defaultService } from '../api/defaults.js';
import type { ClusterState, V1EndpointSlice, V1Service } from '../api/types.js';
import { DsrlbError } from '../errors.js';
import { categorizeEndpoints } from './categorize.js';
import { endpointsByPort, portKey, sliceServiceKey } from './endpoints.js';
import { buildFrontends } from './frontends.js';
import { localReadyEndpointCount } from './health-check.js';
import { parseIp } from '../net/ip.js';
import { frontendKey } from './keys.js';
import { LABEL_TOPOLOGY_ZONE } from './nodes.js';
import { needsHealthCheck, serviceKey, servicePorts } from './services.js';
import type {
  Frontend, FrontendKind, HealthCheckNodePort, IPFamily, Plan, PlanNode, PlanOptions, PlanReport, PlanWarning,
} from './types.js';

const KIND_ORDER: Readonly<Record<FrontendKind, number>> = { ClusterIP: 0, NodePort: 1, LoadBalancer: 2, ExternalIP: 3 };

/** One Service's part of the plan. */
export interface ServicePlan {
  /** "namespace/name" */
  readonly service: string;
  /** Sorted like the plan's; not yet checked against other Services' frontends. */
  readonly frontends: readonly Frontend[];
  readonly healthCheckNodePort: HealthCheckNodePort | null;
  readonly warnings: readonly PlanWarning[];
}

export function buildPlan(state: ClusterState, node: PlanNode, options: PlanOptions = {}): Plan {
  return buildPlanReport(state, node, options).plan;
}

/** The plan plus what it had to leave out (conflicting frontends, missing health check ports). */
export function buildPlanReport(state: ClusterState, node: PlanNode, options: PlanOptions = {}): PlanReport {
  const ctx = prepare(node, options);
  const slicesByService = indexSlices(state.endpointSlices.values());
  const parts: ServicePlan[] = [];
  for (const svc of state.services.values()) parts.push(planWith(ctx, svc, slicesByService.get(serviceKey(svc)) ?? []));
  return assemblePlan(parts);
}

/**
 * Plans one Service.
 * @param slices the Service's EndpointSlices (those whose kubernetes.io/service-name
 *   label names it in its namespace; see sliceServiceKey); others are ignored.
 */
export function planService(
  service: V1Service, slices: readonly V1EndpointSlice[], node: PlanNode, options: PlanOptions = {},
): ServicePlan {
  return planWith(prepare(node, options), service, slices);
}

export type ServicePlanner = (service: V1Service, slices: readonly V1EndpointSlice[]) => ServicePlan;

/**
 * planService for many Services and one node: what the plan needs to know
 * about the node is worked out once. Throws like buildPlanReport on an
 * invalid node address.
 */
export function servicePlanner(node: PlanNode, options: PlanOptions = {}): ServicePlanner {
  const ctx = prepare(node, options);
  return (service, slices) => planWith(ctx, service, slices);
}

/** What every Service's planning needs to know about this node, worked out once. */
interface NodeContext {
  readonly name: string;
  readonly addressesByFamily: ReadonlyMap<IPFamily, readonly string[]>;
  readonly families: readonly IPFamily[];
  readonly zone: string;
  readonly nodeHints: boolean;
}

function prepare(node: PlanNode, options: PlanOptions): NodeContext {
  const addressesByFamily = nodeAddressesByFamily(node.addresses);
  return {
    name: node.name,
    addressesByFamily,
    families: options.ipFamilies ?? (addressesByFamily.size > 0 ? [...addressesByFamily.keys()] : ['IPv4']),
    zone: node.zone ?? node.labels?.[LABEL_TOPOLOGY_ZONE] ?? '',
    nodeHints: options.preferSameNodeHints ?? true,
  };
}

function planWith(ctx: NodeContext, service: V1Service, slices: readonly V1EndpointSlice[]): ServicePlan {
  const svc = defaultService(service);
  const key = serviceKey(svc);
  const own = sortSlices(slices.map(defaultEndpointSlice).filter((s) => sliceServiceKey(s) === key));
  const frontends: Frontend[] = [];
  const warnings: PlanWarning[] = [];
  let healthCheckNodePort: HealthCheckNodePort | null = null;
  let planned = false;

  for (const family of ctx.families) {
    const ports = servicePorts(svc, family);
    if (ports.length === 0) continue;
    planned = true;
    const byPort = endpointsByPort(own, { nodeName: ctx.name, family, nodeHints: ctx.nodeHints });
    for (const sp of ports) {
      const cat = categorizeEndpoints(byPort.get(portKey(sp.name, sp.protocol)) ?? [], sp, ctx.name, ctx.zone);
      frontends.push(...buildFrontends(sp, cat, ctx.addressesByFamily.get(family) ?? []));
    }
    const port = ports[0]?.healthCheckNodePort ?? 0;
    if (port !== 0) {
      // One answer per Service; with two families, the larger count of local endpoints.
      const count = Math.max(localReadyEndpointCount(byPort), healthCheckNodePort?.localReadyEndpoints ?? 0);
      healthCheckNodePort = { service: key, port, localReadyEndpoints: count };
    }
  }
  if (planned && needsHealthCheck(svc) && !svc.spec?.healthCheckNodePort) {
    // kube-proxy logs "Service has no healthcheck nodeport" and serves none.
    warnings.push({ service: key, message: 'externalTrafficPolicy Local without spec.healthCheckNodePort: no health check is served' });
  }
  return { service: key, frontends: uniqueWithin(frontends), healthCheckNodePort, warnings };
}

/**
 * Joins Services' parts into the plan: sorted by service, service port,
 * protocol, kind, address, port. A frontend (or health check port) two
 * Services claim goes to the first by name, with a warning: the datapath can
 * hold only one.
 */
export function assemblePlan(parts: Iterable<ServicePlan>): PlanReport {
  const sorted = [...parts].sort((a, b) => cmp(a.service, b.service));
  const warnings: PlanWarning[] = [];
  const owner = new Map<string, Frontend>();
  const frontends: Frontend[] = [];
  const portOwner = new Map<number, string>();
  const healthCheckNodePorts: HealthCheckNodePort[] = [];
  for (const part of sorted) {
    warnings.push(...part.warnings);
    for (const f of part.frontends) {
      const key = frontendKey(f);
      const first = owner.get(key);
      if (!first) {
        owner.set(key, f);
        frontends.push(f);
      } else {
        warnings.push({
          service: f.service,
          message: `${f.kind} ${f.address}:${f.port}/${f.protocol} is already ${first.service}'s ${first.kind} frontend; left out`,
        });
      }
    }
    const hc = part.healthCheckNodePort;
    if (hc) {
      const first = portOwner.get(hc.port);
      if (first === undefined) {
        portOwner.set(hc.port, hc.service);
        healthCheckNodePorts.push(hc);
      } else {
        warnings.push({ service: hc.service, message: `healthCheckNodePort ${hc.port} is already ${first}'s; left out` });
      }
    }
  }
  return { plan: { frontends, healthCheckNodePorts }, warnings };
}

function nodeAddressesByFamily(addresses: readonly string[]): Map<IPFamily, string[]> {
  const out = new Map<IPFamily, string[]>();
  for (const text of addresses) {
    const ip = parseIp(text);
    if (!ip) {
      throw new DsrlbError('ERR_INVALID_ARGUMENT', `'${text}' is not an IP address`, {
        subject: 'node address', remedy: 'give this node\'s addresses as plain IPv4/IPv6 addresses',
      });
    }
    const list = out.get(ip.family) ?? [];
    if (!list.includes(ip.address)) list.push(ip.address);
    out.set(ip.family, list);
  }
  return out;
}

/** Usable slices by "namespace/service". */
function indexSlices(slices: Iterable<V1EndpointSlice>): Map<string, V1EndpointSlice[]> {
  const out = new Map<string, V1EndpointSlice[]>();
  for (const raw of slices) {
    const key = sliceServiceKey(raw);
    if (key === null) continue;
    const list = out.get(key) ?? [];
    list.push(raw);
    out.set(key, list);
  }
  return out;
}

/** By name, so that duplicate endpoints resolve the same way every time. */
function sortSlices(slices: V1EndpointSlice[]): V1EndpointSlice[] {
  return slices.sort((a, b) => cmp(a.metadata?.name ?? '', b.metadata?.name ?? ''));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Within one Service, a frontend listed twice (e.g. an external IP equal to the ingress IP) is kept once, first in plan order. */
function uniqueWithin(frontends: Frontend[]): Frontend[] {
  if (frontends.length < 2) return frontends;
  const seen = new Set<string>();
  return sortFrontends(frontends).filter((f) => {
    const key = frontendKey(f);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sortFrontends(frontends: Frontend[]): Frontend[] {
  const keyed = frontends.map((f) => ({ f, addr: parseIp(f.address)?.sortKey ?? f.address }));
  keyed.sort((x, y) => cmp(x.f.servicePort, y.f.servicePort) || cmp(x.f.protocol, y.f.protocol)
    || KIND_ORDER[x.f.kind] - KIND_ORDER[y.f.kind] || cmp(x.addr, y.addr) || x.f.port - y.f.port);
  return keyed.map((k) => k.f);
}
