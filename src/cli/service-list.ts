/**
 * `lbctl service list`: one row per frontend in the maps, with the Service
 * it belongs to. The maps hold no Service names, node names or traffic
 * policies; the agent serves them (GET /v1/services on --health-addr, its
 * last complete sync's plan), and this joins the two by frontend
 * address:port/protocol. Without the agent the rows are the maps' alone.
 * Pure: the caller reads both.
 */
import type { ServicesBody } from '../agent/services-endpoint.js';
import type { Frontend } from '../plan/types.js';
import { bracketed, frontendFlags } from './describe.js';
import type { NodeView, ServiceEntry } from './lb-list.js';

export interface ServiceListBackend {
  id: number;
  /** "address:port/protocol" */
  address: string;
  state: 'active' | 'terminating';
  /** The node's name (from the agent), else its address (from the maps); null when neither knows it. */
  node: string | null;
  /** On this node. */
  local: boolean;
}

export interface ServiceListEntry {
  /** lb4_service.service_id */
  id: number;
  /** "namespace/name"; null when the agent did not say (not reachable, or the frontend is not in its last sync). */
  service: string | null;
  /** The Service port's name ("" when unnamed); null like `service`. */
  servicePort: string | null;
  /** "address:port/protocol" */
  frontend: string;
  /** ["LoadBalancer", "dsr", "Local", ...] (src/cli/describe.ts). */
  flags: string[];
  backends: ServiceListBackend[];
}

export interface ServiceList {
  /** "agent": names from the agent joined with the maps; "maps": the maps alone. */
  source: 'agent' | 'maps';
  /** Why the names are missing, when they are. */
  note: string | null;
  services: ServiceListEntry[];
}

const key = (address: string, port: number, protocol: string): string => `${address}:${port}/${protocol}`;

/** Plan frontends by address:port/protocol; NodePort ones also by "*:port/protocol" for the socket LB's any-address entries. */
function indexPlan(frontends: readonly Frontend[]): Map<string, Frontend> {
  const out = new Map<string, Frontend>();
  for (const f of frontends) {
    out.set(key(f.address, f.port, f.protocol), f);
    if (f.kind === 'NodePort' && !out.has(key('*', f.port, f.protocol))) out.set(key('*', f.port, f.protocol), f);
  }
  return out;
}

function planFrontend(plan: Map<string, Frontend>, s: ServiceEntry): Frontend | undefined {
  const { address, port, protocol } = s.frontend;
  return plan.get(key(address, port, protocol)) ?? (address === '0.0.0.0' ? plan.get(key('*', port, protocol)) : undefined);
}

/** Joins the maps' services (lb-list.ts) with the agent's /v1/services body, when there is one. */
export function joinServices(maps: readonly ServiceEntry[], nodes: NodeView, agent: ServicesBody | null, unreachable?: string): ServiceList {
  const plan = indexPlan(agent?.frontends ?? []);
  const nodeNames = new Map(Object.entries(agent?.nodes ?? {}).map(([name, address]) => [address, name]));
  const services = maps.map((s): ServiceListEntry => {
    const f = planFrontend(plan, s);
    const flags = frontendFlags({ kind: s.kind, flags: s.flags, protocol: s.frontend.protocol, mode: nodes.mode, trafficScope: f?.trafficScope });
    return {
      id: s.serviceId,
      service: f?.service ?? null,
      servicePort: f?.servicePort ?? null,
      frontend: key(s.frontend.address, s.frontend.port, s.frontend.protocol),
      flags,
      backends: s.backends.map((b) => ({
        id: b.id, address: key(b.address, b.port, b.protocol), state: b.terminating ? 'terminating' : 'active',
        node: (b.node !== null ? nodeNames.get(b.node) : undefined) ?? b.node, local: b.local,
      })),
    };
  });
  const note = agent ? null : `the agent is not reachable (${unreachable ?? 'no answer'}): Service names and traffic policies are unknown; showing the maps alone`;
  return { source: agent ? 'agent' : 'maps', note, services };
}

/** `cilium service list`-style rows: one per backend, the frontend's columns on its first. */
export function serviceListRows(list: ServiceList): string[][] {
  return list.services.flatMap((s) => {
    const name = s.service === null ? '-' : s.servicePort ? `${s.service}:${s.servicePort}` : s.service;
    const backends = s.backends.map((b) => `${b.id} => ${b.address} (${b.state}${b.node ? `, ${b.node}` : ''}${b.local ? ', this node' : ''})`);
    const first = [String(s.id), name, s.frontend, bracketed(s.flags), backends[0] ?? '(no backends)'];
    return [first, ...backends.slice(1).map((b) => ['', '', '', '', b])];
  });
}
