/**
 * What `lbctl bpf ct list` reads: the connection tables (LRU maps), each
 * entry with its age, expiry and state where its table records them. One
 * row per table in TABLES: a new table or field is a new row there.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Lb4Flow, Lb4SnatEntry, Lb4Tuple } from '../bpf/codecs/connections.js';
import { DSRLB_FLOW_F_CLOSING, dsrlb_flow_state } from '../bpf/consts.generated.js';
import { MapSpecs, openPinned, withPinned, type MapSpec } from '../bpf/map-specs.js';
import { formatDuration } from './describe.js';
import { protoName } from './lb-list.js';

export interface ConnectionEntry {
  table: string;
  tuple: string;
  entry: string;
  /** Seconds since the entry was created; null where the table does not record it. */
  ageSeconds: number | null;
  /** Seconds since the entry was last used; null where the table does not record it. */
  idleSeconds: number | null;
  /** Seconds until the datapath stops using the entry; null: it lives until the LRU map evicts it for a newer one. */
  expiresInSeconds: number | null;
  /** The connection's state as the table records it; null where it records none. */
  state: string | null;
}

/** What every row may need besides its entry: the clock the datapath stamps with, and the services' affinity timeouts. */
interface Context { readonly nowNs: bigint; readonly affinityTimeout: ReadonlyMap<number, number> }

type Times = Partial<Pick<ConnectionEntry, 'ageSeconds' | 'idleSeconds' | 'expiresInSeconds' | 'state'>>;

interface Table<K, V> {
  readonly spec: MapSpec<K, V>;
  readonly key: (k: K) => string;
  readonly entry: (v: V) => string;
  readonly times?: (v: V, ctx: Context, k: K) => Times;
}

function table<K, V>(t: Table<K, V>): Table<unknown, unknown> {
  return t as unknown as Table<unknown, unknown>;
}

function tuple(t: Lb4Tuple): string {
  return `${protoName(t.proto)} ${t.saddr}:${t.sport} -> ${t.daddr}:${t.dport}${t.flags ? ' [reply]' : ''}`;
}

const FLOW_STATES: Readonly<Record<number, string | null>> = {
  [dsrlb_flow_state.DSRLB_FLOW_UNTRACKED]: null,
  [dsrlb_flow_state.DSRLB_FLOW_SYN]: 'SYN',
  [dsrlb_flow_state.DSRLB_FLOW_ESTABLISHED]: 'ESTABLISHED',
  [dsrlb_flow_state.DSRLB_FLOW_FIN]: 'FIN',
  [dsrlb_flow_state.DSRLB_FLOW_RST]: 'RST',
};

const NS = 1_000_000_000n;

/** Seconds between a datapath timestamp (bpf_ktime_get_ns: CLOCK_MONOTONIC, as Node's hrtime) and now; null for 0 (never stamped). */
function since(nowNs: bigint, thenNs: bigint): number | null {
  return thenNs === 0n ? null : Number((nowNs - thenNs) / NS);
}

function flowState(v: Lb4Flow): string | null {
  return FLOW_STATES[v.state] === undefined ? `state ${v.state}` : FLOW_STATES[v.state] ?? null;
}

const flowEntry = (v: Lb4Flow): string => `backend ${v.backendId} (service ${v.serviceId})`;
const flowAge = (v: Lb4Flow, ctx: Context): number | null => since(ctx.nowNs, BigInt(v.createdS) * NS);
const snatEntry = (v: Lb4SnatEntry): string => `rewrite to ${v.saddr}:${v.sport} -> ${v.daddr}:${v.dport}`;

const TABLES: readonly Table<unknown, unknown>[] = [
  /* lb4_flows holds confirmed connections: its state is what the client's packets said. */
  table({ spec: MapSpecs.flows, key: tuple, entry: flowEntry, times: (v, ctx) => ({ ageSeconds: flowAge(v, ctx), state: flowState(v) }) }),
  /* lb4_flows_new: UNCONFIRMED, then the client's TCP state, and CLOSING after the pod's FIN (e.g. UNCONFIRMED,SYN). */
  table({
    spec: MapSpecs.flowsNew, key: tuple, entry: flowEntry,
    times: (v, ctx) => ({
      ageSeconds: flowAge(v, ctx),
      state: ['UNCONFIRMED', flowState(v), v.flags & DSRLB_FLOW_F_CLOSING ? 'CLOSING' : null].filter((s) => s !== null).join(','),
    }),
  }),
  table({ spec: MapSpecs.dsrRevnat, key: tuple, entry: (v) => `reply from ${v.address}:${v.port}`, times: () => ({ state: 'ESTABLISHED' }) }),
  table({ spec: MapSpecs.dsrRevnatNew, key: tuple, entry: (v) => `reply from ${v.address}:${v.port}`, times: () => ({ state: 'UNCONFIRMED' }) }),
  table({ spec: MapSpecs.snat, key: tuple, entry: snatEntry, times: () => ({ state: 'ESTABLISHED' }) }),
  table({ spec: MapSpecs.snatNew, key: tuple, entry: snatEntry, times: () => ({ state: 'UNCONFIRMED' }) }),
  table({
    spec: MapSpecs.affinity,
    key: (k) => `${k.netnsCookie ? `netns ${k.netnsCookie}` : k.client} -> service ${k.serviceId}`,
    entry: (v) => `backend ${v.backendId}`,
    times: (v, ctx, k) => {
      const idle = since(ctx.nowNs, v.lastUsedNs);
      const timeout = ctx.affinityTimeout.get(k.serviceId) ?? null;
      return { idleSeconds: idle, expiresInSeconds: idle === null || timeout === null ? null : Math.max(0, timeout - idle) };
    },
  }),
  table({
    spec: MapSpecs.sockRevnat,
    key: (k) => `socket ${k.cookie} -> ${k.address}:${k.port}`,
    entry: (v) => `reply from ${v.address}:${v.port}`,
    times: (v, ctx) => ({ idleSeconds: since(ctx.nowNs, v.lastUsedNs) }),
  }),
];

/** Affinity timeouts (seconds) by service id, from lb4_services. */
function affinityTimeouts(root: string): Map<number, number> {
  return new Map(withPinned(root, MapSpecs.services, (m) => m.entries()).map(([, v]) => [v.serviceId, v.affinityTimeout]));
}

function collect(root: string, t: Table<unknown, unknown>, ctx: Context): ConnectionEntry[] {
  const m = openPinned(root, t.spec);
  try {
    return m.entries().map(([k, v]) => ({
      table: t.spec.name, tuple: t.key(k), entry: t.entry(v),
      ageSeconds: null, idleSeconds: null, expiresInSeconds: null, state: null,
      ...t.times?.(v, ctx, k),
    }));
  } finally {
    m.close();
  }
}

/** Every pinned connection table's entries (tables not pinned under `root` are left out; none pinned is an error). */
export function listConnections(root: string, nowNs: bigint = process.hrtime.bigint()): ConnectionEntry[] {
  const pinned = TABLES.filter((t) => existsSync(join(root, t.spec.name)));
  if (pinned.length === 0) openPinned(root, MapSpecs.flows).close(); // throws: names the path and what to check
  const timeouts = existsSync(join(root, MapSpecs.services.name)) ? affinityTimeouts(root) : new Map<number, number>();
  return pinned.flatMap((t) => collect(root, t, { nowNs, affinityTimeout: timeouts }));
}

/** Rows for the text table: AGE shows the age, else the idle time; EXPIRES "LRU" where only eviction ends an entry. */
export function connectionRows(entries: readonly ConnectionEntry[]): string[][] {
  return entries.map((e) => [
    e.table, e.tuple, e.entry,
    e.ageSeconds !== null ? formatDuration(e.ageSeconds) : e.idleSeconds !== null ? `idle ${formatDuration(e.idleSeconds)}` : '-',
    e.expiresInSeconds !== null ? formatDuration(e.expiresInSeconds) : 'LRU',
    e.state ?? '-',
  ]);
}
