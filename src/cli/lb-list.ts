/**
 * What `lbctl bpf lb list` reads: frontends (lb4_services), their backends
 * (the distinct ids of each service's Maglev table, resolved in lb4_backends),
 * revnat entries and raw Maglev tables. Read-only: it opens the pins.
 */
import { DSRLB_BE_F_TERMINATING } from '../bpf/consts.generated.js';
import { isLiveRevnat, type Lb4Backend } from '../bpf/codecs/services.js';
import { liveBackends } from '../bpf/backend-slots.js';
import { MapSpecs, withPinned } from '../bpf/map-specs.js';
import { ipv4Value } from '../net/ip.js';
import { closeFd, innerTableElements, openInnerTable, readInnerTable } from '../reconcile/maps/maglev-maps.js';
import { slotBackend } from '../reconcile/moved-slots.js';
import { DsrlbError } from '../errors.js';
import { frontendFlags, frontendType } from './describe.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

export interface BackendEntry {
  id: number;
  address: string;
  port: number;
  protocol: string;
  nodeId: number;
  /** The node's address (from `nodes`); null for an id `nodes` does not hold. */
  node: string | null;
  /** On this node (node id = config.node_id). */
  local: boolean;
  terminating: boolean;
}

/** What the maps say of the node itself and the others: its mode, its id, every node id's address. */
export interface NodeView { readonly mode: number | undefined; readonly localId: number; readonly addresses: ReadonlyMap<number, string> }

export function readNodeView(root: string): NodeView {
  const cfg = withPinned(root, MapSpecs.config, (m) => m.lookup(0));
  const configured = cfg !== undefined && cfg.nodeId !== 0;
  const addresses = new Map(withPinned(root, MapSpecs.nodes, (m) => m.entries()).map(([id, n]) => [id, n.address]));
  if (configured) addresses.set(cfg.nodeId, cfg.nodeAddress);
  return { mode: configured ? cfg.mode : undefined, localId: configured ? cfg.nodeId : 0, addresses };
}

/** A backend's node for people: its address, marked when it is this node. */
export function nodeLabel(b: Pick<BackendEntry, 'node' | 'nodeId' | 'local'>): string {
  const at = b.node ?? `node id ${b.nodeId}`;
  return b.local ? `${at} (this node)` : at;
}

export interface ServiceEntry {
  frontend: { address: string; port: number; protocol: string };
  /** lb4_service.kind (enum dsrlb_frontend_kind) */
  kind: number;
  /** ClusterIP, NodePort, LoadBalancer or ExternalIP (frontendType). */
  type: string;
  serviceId: number;
  revnatId: number;
  backendCount: number;
  maglevSize: number;
  flags: number;
  /** The type and flags as `cilium bpf lb list` names them: ["LoadBalancer", "dsr", "sessionAffinity"]. */
  flagNames: string[];
  backends: BackendEntry[];
}

function backendEntry(id: number, b: Lb4Backend, nodes: NodeView): BackendEntry {
  return {
    id, address: b.address, port: b.port, protocol: protoName(b.proto), nodeId: b.nodeId, node: nodes.addresses.get(b.nodeId) ?? null,
    local: nodes.localId !== 0 && b.nodeId === nodes.localId, terminating: (b.flags & DSRLB_BE_F_TERMINATING) !== 0,
  };
}

/** A service's Maglev table: slot -> backend id (without the moved mark); empty when it has none. */
export function readMaglevTable(root: string, serviceId: number, size: number): Uint32Array {
  const innerId = withPinned(root, MapSpecs.maglev, (m) => m.lookup(serviceId));
  if (innerId === undefined || size === 0) return new Uint32Array(0);
  const fd = openInnerTable(serviceId, innerId);
  try {
    innerTableElements(serviceId, fd);
    return Uint32Array.from(readInnerTable(serviceId, fd, size).slots, slotBackend);
  } finally {
    closeFd(fd);
  }
}

export function listBackends(root: string, nodes: NodeView = readNodeView(root)): BackendEntry[] {
  return withPinned(root, MapSpecs.backends, (m) => liveBackends(m).map(([id, b]) => backendEntry(id, b, nodes)));
}

export function listServices(root: string, nodes: NodeView = readNodeView(root)): ServiceEntry[] {
  const backends = new Map(listBackends(root, nodes).map((b) => [b.id, b]));
  const tables = new Map<number, BackendEntry[]>();
  const services = withPinned(root, MapSpecs.services, (m) => m.entries());
  return services
    .map(([k, v]) => {
      let members = tables.get(v.serviceId);
      if (!members) {
        // Distinct ids in slot order: the order Maglev's preference gives them.
        const ids = [...new Set(readMaglevTable(root, v.serviceId, v.maglevSize))];
        members = ids.flatMap((id) => backends.get(id) ?? []);
        tables.set(v.serviceId, members);
      }
      return {
        frontend: { address: k.address, port: k.port, protocol: protoName(k.proto) },
        kind: v.kind,
        type: frontendType(v.kind, v.flags),
        serviceId: v.serviceId, revnatId: v.revnatId, backendCount: v.backendCount, maglevSize: v.maglevSize, flags: v.flags,
        flagNames: frontendFlags({ kind: v.kind, flags: v.flags, protocol: protoName(k.proto), mode: nodes.mode }),
        backends: members,
      };
    })
    .sort((a, b) => a.serviceId - b.serviceId || a.frontend.address.localeCompare(b.frontend.address) || a.frontend.port - b.frontend.port);
}

export interface RevnatEntry {
  id: number;
  address: string;
  port: number;
  /** The protocol of the frontend holding this revnat id (lb4_revnat has none); null when no frontend does. */
  protocol: string | null;
}

/** lb4_revnat, each entry with its frontend's protocol from lb4_services (a TCP and a UDP frontend share address and port). */
export function listRevnat(root: string): RevnatEntry[] {
  const protocols = new Map(withPinned(root, MapSpecs.services, (m) => m.entries()).map(([k, v]) => [v.revnatId, protoName(k.proto)]));
  return withPinned(root, MapSpecs.revnat, (m) => m.entries()
    .filter(([, r]) => isLiveRevnat(r))
    .map(([id, r]) => ({ id, address: r.address, port: r.port, protocol: protocols.get(id) ?? null }))
    .sort((a, b) => a.id - b.id));
}

/** `--maglev SVC`: SVC is a service id or a frontend "address:port[/proto]". */
export function maglevFor(root: string, svc: string): { serviceId: number; size: number; table: number[]; share: Record<string, number> } {
  const services = withPinned(root, MapSpecs.services, (m) => m.entries());
  const parts = /^([^:]+):(\d+)(?:\/(TCP|UDP|SCTP))?$/i.exec(svc);
  const m = parts?.[1] !== undefined && ipv4Value(parts[1]) >= 0 ? parts : null;
  const hit = services.find(([k, v]) => (m
    ? k.address === m[1] && k.port === Number(m[2]) && (!m[3] || protoName(k.proto) === m[3].toUpperCase())
    : String(v.serviceId) === svc));
  if (!hit) {
    throw new DsrlbError('ERR_NO_SERVICE', `no service '${svc}'`, { remedy: 'pass a service id or a frontend address:port/proto from `lbctl bpf lb list`' });
  }
  const [, v] = hit;
  const table = [...readMaglevTable(root, v.serviceId, v.maglevSize)];
  const share: Record<string, number> = {};
  for (const id of table) share[id] = (share[id] ?? 0) + 1;
  return { serviceId: v.serviceId, size: v.maglevSize, table, share };
}

export function serviceRows(services: ServiceEntry[]): string[][] {
  return services.flatMap((s) => {
    const frontend = `${s.frontend.address}:${s.frontend.port}/${s.frontend.protocol}`;
    const head = [frontend, `0.0.0.0:0 (${s.revnatId}) (0) [${s.flagNames.join(', ')}]`, s.type];
    const rows = s.backends.map((b, i) => ['', `${b.address}:${b.port}/${b.protocol} (${s.revnatId}) (${i + 1})${b.terminating ? ' [terminating]' : ''}`, '']);
    return [head, ...rows];
  });
}
