/** What `lbctl bpf ct list` reads: the connection tables (LRU maps). */
import type { Lb4Tuple } from '../bpf/codecs/connections.js';
import { MapSpecs, openPinned, type MapSpec } from '../bpf/map-specs.js';
import { protoName } from './lb-list.js';

export interface ConnectionEntry { table: string; tuple: string; entry: string }

function tuple(t: Lb4Tuple): string {
  return `${protoName(t.proto)} ${t.saddr}:${t.sport} -> ${t.daddr}:${t.dport}${t.flags ? ' [reply]' : ''}`;
}

function collect<V>(root: string, spec: MapSpec<Lb4Tuple, V>, describe: (v: V) => string): ConnectionEntry[] {
  const m = openPinned(root, spec);
  try {
    return m.entries().map(([k, v]) => ({ table: spec.name, tuple: tuple(k), entry: describe(v) }));
  } finally {
    m.close();
  }
}

export function listConnections(root: string): ConnectionEntry[] {
  return [
    ...collect(root, MapSpecs.flows, (v) => `backend ${v.backendId} (service ${v.serviceId})`),
    ...collect(root, MapSpecs.dsrRevnat, (v) => `reply from ${v.address}:${v.port}`),
    ...collect(root, MapSpecs.dsrRevnatNew, (v) => `reply from ${v.address}:${v.port} (unconfirmed)`),
    ...collect(root, MapSpecs.snat, (v) => `rewrite to ${v.saddr}:${v.sport} -> ${v.daddr}:${v.dport}`),
  ];
}
