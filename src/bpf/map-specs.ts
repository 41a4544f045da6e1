/**
 * The datapath maps by their pinned names (docs/design.md §2) with the codecs of
 * their keys and values: one table used by the reconciler, lbctl and tests.
 */
import type { Codec } from './codec.js';
import {
  lb4Affinity, lb4AffinityKey, lb4DsrFrontend, lb4Flow, lb4FragKey, lb4SnatEntry, lb4SockRevnat, lb4SockRevnatKey, lb4Tuple,
} from './codecs/connections.js';
import { maglevEntry } from './codecs/maglev.js';
import { dsrlbMonitorGate, dsrlbMonitorPending } from './codecs/monitor.js';
import { dsrlbConfig, dsrlbNode, nodeAddress } from './codecs/node.js';
import { counter, u32Key, u32Value } from './codecs/scalars.js';
import { lb4Backend, lb4BackendAddr, lb4Frontend, lb4Key, lb4LocalBackendKey, lb4Revnat, lb4Service } from './codecs/services.js';
import { lb4SourceRangeKey } from './codecs/source-ranges.js';
import { MapType } from './map-types.js';
import { liveBackends } from './backend-slots.js';
import type { BpfMap, MapInfo } from './map.js';
import { openPinnedMap } from './pins.js';
import type { BpfObjectFile } from './object.js';

export interface MapSpec<K, V> { readonly name: string; readonly key: Codec<K>; readonly value: Codec<V> }

function spec<K, V>(name: string, key: Codec<K>, value: Codec<V>): MapSpec<K, V> {
  return { name, key, value };
}

export const MapSpecs = {
  services: spec('lb4_services', lb4Key, lb4Service),
  /** Revnat id -> the frontend's service id, flags, generation (an array; src/reconcile/frontend-slots.ts). */
  frontends: spec('lb4_frontends', u32Key, lb4Frontend),
  backends: spec('lb4_backends', u32Key, lb4Backend),
  /** Revnat id -> frontend; address 0: free (an array). */
  revnat: spec('lb4_revnat', u32Key, lb4Revnat),
  /** {local backend, service id} -> backend id (src/reconcile/local-backends.ts). */
  localBackends: spec('lb4_local_backends', lb4LocalBackendKey, u32Value),
  /** Outer map: service id -> inner table (the value is an inner map id when read, an fd when written). */
  maglev: spec('lb4_maglev', u32Key, u32Value),
  /** Service id -> its previous table (the inner map lb4_maglev held before the last change). */
  maglevPrev: spec('lb4_maglev_prev', u32Key, u32Value),
  /** Service id -> slots in its lb4_maglev_prev table; 0: none (an array). */
  maglevPrevSize: spec('lb4_maglev_prev_size', u32Key, u32Value),
  /** The empty table a slot of lb4_maglev or lb4_maglev_prev points at when its service has none (never written). */
  maglevNone: spec('lb4_maglev_none', u32Key, maglevEntry),
  /** LB-node flows the pod confirmed (established; bpf/lib/flow_confirm.h). */
  flows: spec('lb4_flows', lb4Tuple, lb4Flow),
  /** LB-node flows not confirmed (unconfirmed): every new flow, UDP flows, affinity flows in DSR mode. */
  flowsNew: spec('lb4_flows_new', lb4Tuple, lb4Flow),
  /** Reverse NAT of connections the pod confirmed (established; bpf/lib/revnat.h). */
  dsrRevnat: spec('lb4_dsr_revnat', lb4Tuple, lb4DsrFrontend),
  /** Reverse NAT of tuples the pod has not confirmed (unconfirmed), and of UDP flows. */
  dsrRevnatNew: spec('lb4_dsr_revnat_new', lb4Tuple, lb4DsrFrontend),
  /** Local backend {address, port, proto} -> its only frontend, or address 0 (src/reconcile/backend-frontends.ts). */
  backendFrontends: spec('lb4_backend_frontends', lb4BackendAddr, lb4Revnat),
  /** A fragmented reply's {pod, client, IP id, proto} -> the frontend its first fragment got (tc egress). */
  fragRevnat: spec('lb4_frag_revnat', lb4FragKey, lb4Revnat),
  /** SNAT mappings (both directions) of confirmed connections (established). */
  snat: spec('lb4_snat', lb4Tuple, lb4SnatEntry),
  /** SNAT mappings not confirmed (unconfirmed). */
  snatNew: spec('lb4_snat_new', lb4Tuple, lb4SnatEntry),
  affinity: spec('lb4_affinity', lb4AffinityKey, lb4Affinity),
  /** Socket LB, UDP: {socket cookie, backend} -> the frontend the socket addressed. */
  sockRevnat: spec('lb4_sock_revnat', lb4SockRevnatKey, lb4SockRevnat),
  sourceRanges: spec('lb4_source_ranges', lb4SourceRangeKey, u32Value),
  nodes: spec('nodes', u32Key, dsrlbNode),
  nodeAddrs: spec('node_addrs', nodeAddress, u32Value),
  config: spec('config', u32Key, dsrlbConfig),
  stats: spec('stats', u32Key, counter),
  /** Bytes of forwarded packets as they left, indexed like stats (bpf/lib/stats_bytes.h; src/bpf/stats.ts). */
  statsBytes: spec('stats_bytes', u32Key, counter),
  /** Per CPU: the forward counters the packet in flight counted (a byte each, index + 1), cleared at its exit. */
  statsPending: spec('stats_pending', u32Key, counter),
  /** Word index -> 64 ports no frontend uses (src/bpf/port-filter.ts). */
  portFilter: spec('lb4_port_filter', u32Key, counter),
  /** lbctl monitor: the event types asked for and the lease (src/bpf/monitor.ts). */
  monitorGate: spec('monitor_gate', u32Key, dsrlbMonitorGate),
  /** Per CPU: the event a packet noted, and the events lost to a full ring. */
  monitorPending: spec('monitor_pending', u32Key, dsrlbMonitorPending),
} as const;

export function openPinned<K, V>(root: string, s: MapSpec<K, V>): BpfMap<K, V> {
  return openPinnedMap(root, s.name, s.key, s.value);
}

/** Runs `fn` on a pinned map, closing it afterwards. */
export function withPinned<K, V, T>(root: string, s: MapSpec<K, V>, fn: (m: BpfMap<K, V>) => T): T {
  const m = openPinned(root, s);
  try {
    return fn(m);
  } finally {
    m.close();
  }
}

export interface MapFill { readonly entries: number; readonly info: MapInfo }

/** The kernel id of the lb4_maglev_none pinned under `root`, or undefined. */
export function pinnedNoneTableId(root: string): number | undefined {
  try {
    return withPinned(root, MapSpecs.maglevNone, (m) => m.info().id);
  } catch {
    return undefined;
  }
}

/**
 * The slots of an array of Maglev tables (lb4_maglev, lb4_maglev_prev) that
 * hold one: service id -> inner map id, leaving out the empty slots and
 * those pointing at lb4_maglev_none (`noneId`), which the control plane
 * puts where it takes a table out.
 */
export function maglevSlots(outer: BpfMap<number, number>, noneId: number | undefined): [number, number][] {
  return outer.entries().filter(([, innerId]) => innerId !== noneId);
}

/** How many entries a pinned map holds (of lb4_backends, an array: its live slots; of the Maglev arrays: tables), and its info. */
export function mapFill<K, V>(root: string, s: MapSpec<K, V>): MapFill {
  if (s.name === MapSpecs.backends.name) {
    return withPinned(root, MapSpecs.backends, (m) => ({ entries: liveBackends(m).length, info: m.info() }));
  }
  if (s.name === MapSpecs.maglev.name || s.name === MapSpecs.maglevPrev.name) {
    const noneId = pinnedNoneTableId(root);
    const outer = s.name === MapSpecs.maglev.name ? MapSpecs.maglev : MapSpecs.maglevPrev;
    return withPinned(root, outer, (m) => ({ entries: maglevSlots(m, noneId).length, info: m.info() }));
  }
  // Arrays have every index: count the slots in use (not all zero), as `lbctl bpf list` does.
  return withPinned(root, s, (m) => ({ entries: m.info().type === MapType.ARRAY ? m.countNonZero() : m.count(), info: m.info() }));
}

export function mapOf<K, V>(obj: BpfObjectFile, s: MapSpec<K, V>): BpfMap<K, V> {
  return obj.map(s.name, s.key, s.value);
}

/** Inner Maglev tables: element index -> DSRLB_MAGLEV_SLOTS_PER_ENTRY backend ids. */
export const maglevInnerSpec = spec('lb4_maglev_inner', u32Key, maglevEntry);
