/**
 * What `lbctl bpf lb list` reads: frontends (lb4_services), their backends
 * (the distinct ids of each service's Maglev table, resolved in lb4_backends),
 * revnat entries and raw Maglev tables. Read-only: it opens the pins.
 */
import { DSRLB_BE_F_TERMINATING, DSRLB_SVC_F_SOCKET_ONLY, dsrlb_frontend_kind } from '../bpf/consts.generated.js';
import type { Lb4Backend } from '../bpf/codecs/services.js';
import { liveBackends } from '../bpf/backend-slots.js';
import { MapSpecs, withPinned } from '../bpf/map-specs.js';
import { ipv4Value } from '../net/ip.js';
import { closeFd, innerTableElements, openInnerTable, readInnerTable } from '../reconcile/maps/maglev-maps.js';
import { DsrlbError } from '../errors.js';

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
  terminating: boolean;
}

const KIND_NAMES: Readonly<Record<number, string>> = {
  [dsrlb_frontend_kind.DSRLB_KIND_CLUSTER_IP]: 'ClusterIP',
  [dsrlb_frontend_kind.DSRLB_KIND_NODE_PORT]: 'NodePort',
  [dsrlb_frontend_kind.DSRLB_KIND_LOAD_BALANCER]: 'LoadBalancer',
  [dsrlb_frontend_kind.DSRLB_KIND_EXTERNAL_IP]: 'ExternalIP',
};

/** The frontend's type as `lbctl bpf lb list` shows it; socket-only entries are the NodePort on any node address. */
export function frontendType(kind: number, flags: number): string {
  const name = KIND_NAMES[kind] ?? 'unknown';
  return flags & DSRLB_SVC_F_SOCKET_ONLY ? `${name} (socket LB, any node address)` : name;
}

export interface ServiceEntry {
  frontend: { address: string; port: number; protocol: string };
  /** ClusterIP, NodePort, LoadBalancer or ExternalIP (frontendType). */
  type: string;
  serviceId: number;
  revnatId: number;
  backendCount: number;
  maglevSize: number;
  flags: number;
  backends: BackendEntry[];
}

function backendEntry(id: number, b: Lb4Backend): BackendEntry {
  return { id, address: b.address, port: b.port, protocol: protoName(b.proto), nodeId: b.nodeId, terminating: (b.flags & DSRLB_BE_F_TERMINATING) !== 0 };
}

/** A service's Maglev table: slot -> backend id; empty when it has none. */
export function readMaglevTable(root: string, serviceId: number, size: number): Uint32Array {
  const innerId = withPinned(root, MapSpecs.maglev, (m) => m.lookup(serviceId));
  if (innerId === undefined || size === 0) return new Uint32Array(0);
  const fd = openInnerTable(serviceId, innerId);
  try {
    innerTableElements(serviceId, fd);
    return Uint32Array.from(readInnerTable(serviceId, fd, size).slots);
  } finally {
    closeFd(fd);
  }
}

export function listBackends(root: string): BackendEntry[] {
  return withPinned(root, MapSpecs.backends, (m) => liveBackends(m).map(([id, b]) => backendEntry(id, b)));
}

export function listServices(root: string): ServiceEntry[] {
  const backends = new Map(listBackends(root).map((b) => [b.id, b]));
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
        type: frontendType(v.kind, v.flags),
        serviceId: v.serviceId, revnatId: v.revnatId, backendCount: v.backendCount, maglevSize: v.maglevSize, flags: v.flags,
        backends: members,
      };
    })
    .sort((a, b) => a.serviceId - b.serviceId || a.frontend.address.localeCompare(b.frontend.address) || a.frontend.port - b.frontend.port);
}

export function listRevnat(root: string): { id: number; address: string; port: number }[] {
  return withPinned(root, MapSpecs.revnat, (m) => m.entries().map(([id, r]) => ({ id, address: r.address, port: r.port })).sort((a, b) => a.id - b.id));
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
    const head = [frontend, `0.0.0.0:0 (${s.revnatId}) (0) [service ${s.serviceId}, M=${s.maglevSize}]`, s.type];
    const rows = s.backends.map((b, i) => ['', `${b.address}:${b.port}/${b.protocol} (${s.revnatId}) (${i + 1})${b.terminating ? ' [terminating]' : ''}`, '']);
    return [head, ...rows];
  });
}
