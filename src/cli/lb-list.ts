/** Reads lb4_services/lb4_revnat into the rows `lbctl bpf lb list` prints. */
import { MapSpecs, openPinned } from '../bpf/map-specs.js';

const PROTO_NAMES: Readonly<Record<number, string>> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };

export function protoName(proto: number): string {
  return PROTO_NAMES[proto] ?? String(proto);
}

export interface ServiceEntry {
  frontend: { address: string; port: number; protocol: string };
  serviceId: number;
  revnatId: number;
  backendCount: number;
  flags: number;
}

export function listServices(root: string): ServiceEntry[] {
  const services = openPinned(root, MapSpecs.services);
  try {
    return services.entries()
      .map(([k, v]) => ({
        frontend: { address: k.address, port: k.port, protocol: protoName(k.proto) },
        serviceId: v.serviceId,
        revnatId: v.revnatId,
        backendCount: v.backendCount,
        flags: v.flags,
      }))
      .sort((a, b) => a.serviceId - b.serviceId);
  } finally {
    services.close();
  }
}

export function serviceRows(services: ServiceEntry[]): string[][] {
  return services.map((s) => [
    `${s.frontend.address}:${s.frontend.port}/${s.frontend.protocol}`,
    `0.0.0.0:0 (${s.revnatId}) (0) [backends: ${s.backendCount}]`,
  ]);
}
