/**
 * Prometheus metrics (prom-client) on --metrics-addr, named the Prometheus
 * way (`dsrlb_` once, units in the name, `_total` on counters) and split the
 * way Cilium's are: drops by reason and direction, forwards (packets and
 * bytes) by path. Every label value that can be known in advance starts at
 * zero, so an `increase()` alert sees the first event. Gauges and counters that mirror
 * the datapath are read at scrape time, so a scrape never sees stale numbers.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Rejection } from '../reconcile/capacity.js';
import { changesByMap, emptyCounts } from '../reconcile/result.js';
import { classify, COUNTER_NAMES, type CounterClass } from './datapath-counters.js';
import type { BuildInfo } from './version.js';

export interface DatapathReadings {
  frontends: number;
  backends: number;
  flows: number;
  /** map name -> entries / max entries */
  fill: Record<string, number>;
  /** stats counter name -> packets, summed over CPUs */
  counters: Record<string, number>;
  /** stats_bytes: counter name -> bytes of the packets it forwarded, summed over CPUs (absent: a datapath without the map) */
  bytes?: Record<string, number> | undefined;
}

/** What the source and the last sync say, read at scrape time. */
export interface AgentReadings {
  /** Services (by name) and frontends the maps serve, as last applied. */
  readonly programmed: { readonly services: number; readonly frontends: number };
  /** Every collection read and nothing failing now. */
  readonly sourceConnected: boolean;
  /** Date.now() of the last successful sync. */
  readonly lastSyncedAt?: number;
}

export interface MetricsInputs {
  readonly build: BuildInfo & { readonly layout: string };
  /** resource -> error kinds it can report (dsrlb_source_errors_total starts at zero for each). */
  readonly sourceErrorLabels: readonly { readonly resource: string; readonly kind: string }[];
  readonly datapath: () => DatapathReadings | undefined;
  readonly agent: () => AgentReadings;
}

const SYNC_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5];

/** One Prometheus counter per class of datapath counter, and its labels. */
const DATAPATH_COUNTERS = {
  drop: { name: 'dsrlb_drop_count_total', help: 'Packets the datapath dropped, by reason and direction (ingress: XDP, egress: tc)', labels: ['reason', 'direction'] },
  forward: { name: 'dsrlb_forward_count_total', help: 'Packets the datapath forwarded, by path', labels: ['path'] },
  pass: { name: 'dsrlb_pass_count_total', help: 'Packets handed to the kernel\'s stack untouched, by reason', labels: ['reason'] },
  socket: { name: 'dsrlb_socket_lb_operations_total', help: 'Socket-LB system calls (connect, sendmsg, recvmsg, getpeername), by outcome', labels: ['outcome'] },
  event: { name: 'dsrlb_datapath_events_total', help: 'Other datapath events (service hits, generated RST/ICMP replies, MSS clamps), by event', labels: ['event'] },
} as const;

type Labels = Record<string, string>;

/**
 * The kernel's counters only grow (they start again when a new map layout is
 * adopted): the Prometheus ones follow by deltas. Calls `inc` with each
 * counter's growth since the last reading in `seen`.
 */
function followDeltas(seen: Map<string, number>, now: Record<string, number> | undefined, inc: (name: string, delta: number) => void): void {
  for (const [name, v] of Object.entries(now ?? {})) {
    const before = seen.get(name) ?? 0;
    const delta = v >= before ? v - before : v;
    seen.set(name, v);
    if (delta > 0) inc(name, delta);
  }
}

function labelsOf(c: CounterClass): Labels {
  switch (c.metric) {
    case 'drop': return { reason: c.reason, direction: c.direction };
    case 'forward': return { path: c.path };
    case 'pass': return { reason: c.reason };
    case 'socket': return { outcome: c.outcome };
    case 'event': return { event: c.event };
  }
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly sourceErrors: Counter<'resource' | 'kind'>;
  readonly syncErrors: Counter;
  readonly resyncRepairs: Counter<'map'>;
  readonly resyncs: Counter<'outcome'>;
  private readonly rejected: Gauge<'service'>;

  constructor(inputs: MetricsInputs) {
    const registers = [this.registry];
    // The standard process_* and nodejs_* names, unprefixed as every client library exports them.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'dsrlb_build_info', help: 'Always 1; the labels say which build runs (version, libbpf, Node.js, map layout)',
      labelNames: ['version', 'libbpf', 'nodejs', 'layout'], registers,
    }).set({ ...inputs.build }, 1);
    this.syncDuration = new Histogram({
      name: 'dsrlb_sync_duration_seconds', help: 'Time from a source change to the maps updated', buckets: SYNC_BUCKETS, registers,
    });
    this.sourceErrors = new Counter({
      name: 'dsrlb_source_errors_total', help: 'Watch/list or manifest errors, by resource and kind', labelNames: ['resource', 'kind'], registers,
    });
    for (const l of inputs.sourceErrorLabels) this.sourceErrors.inc(l, 0);
    this.syncErrors = new Counter({ name: 'dsrlb_sync_errors_total', help: 'Syncs that failed to write the maps', registers });
    this.resyncRepairs = new Counter({
      name: 'dsrlb_resync_repairs_total', help: 'Map entries the periodic resync (--sync-period) found differing from the plan and rewrote or removed, by map',
      labelNames: ['map'], registers,
    });
    for (const map of Object.keys(changesByMap(emptyCounts()))) this.resyncRepairs.inc({ map }, 0);
    this.resyncs = new Counter({ name: 'dsrlb_resyncs_total', help: 'Periodic resyncs, by outcome (ok, failed)', labelNames: ['outcome'], registers });
    for (const outcome of ['ok', 'failed']) this.resyncs.inc({ outcome }, 0);
    this.rejected = new Gauge({
      name: 'dsrlb_capacity_rejected_frontends', help: 'Frontends of a Service left out of the maps for want of room', labelNames: ['service'], registers,
    });
    this.agentGauges(inputs.agent);
    this.datapathMetrics(inputs.datapath);
  }

  setRejected(rejected: readonly Rejection[]): void {
    this.rejected.reset();
    for (const r of rejected) this.rejected.set({ service: r.service }, r.frontends);
  }

  private agentGauges(read: () => AgentReadings): void {
    const registers = [this.registry];
    new Gauge({ name: 'dsrlb_services', help: 'Services (by namespace/name) the maps serve', registers, collect() { this.set(read().programmed.services); } });
    new Gauge({
      name: 'dsrlb_source_connected', help: '1 while the source (API server or manifests directory) has been read completely and nothing fails, else 0',
      registers, collect() { this.set(read().sourceConnected ? 1 : 0); },
    });
    new Gauge({
      name: 'dsrlb_last_sync_timestamp_seconds', help: 'When the maps were last synced to the source (Unix time; 0 before the first sync)',
      registers, collect() { this.set((read().lastSyncedAt ?? 0) / 1000); },
    });
  }

  private datapathMetrics(read: () => DatapathReadings | undefined): void {
    const registers = [this.registry];
    // One read per scrape (at the first gauge, in registration order) feeds every datapath metric.
    let cached: DatapathReadings | undefined;
    new Gauge({ name: 'dsrlb_frontends', help: 'Frontends in lb4_services', registers, collect() { cached = read(); if (cached) this.set(cached.frontends); } });
    new Gauge({ name: 'dsrlb_backends', help: 'Backends in lb4_backends', registers, collect() { if (cached) this.set(cached.backends); } });
    new Gauge({ name: 'dsrlb_flows', help: 'Entries in the LB flow tables (lb4_flows and lb4_flows_new)', registers, collect() { if (cached) this.set(cached.flows); } });
    new Gauge({
      name: 'dsrlb_map_fill_ratio', help: 'Entries / max entries, per map', labelNames: ['map'], registers,
      collect() { for (const [map, v] of Object.entries(cached?.fill ?? {})) this.set({ map }, v); },
    });

    const classes = new Map(COUNTER_NAMES.map((n) => [n, classify(n)]));
    const counters = new Map<CounterClass['metric'], Counter<string>>();
    const seenPackets = new Map<string, number>();
    const seenBytes = new Map<string, number>();
    const follow = (): void => {
      followDeltas(seenPackets, cached?.counters, (name, delta) => {
        const c = classes.get(name);
        if (c) counters.get(c.metric)?.inc(labelsOf(c), delta);
      });
      followDeltas(seenBytes, cached?.bytes, (name, delta) => {
        const c = classes.get(name);
        if (c?.metric === 'forward') forwardBytes.inc({ path: c.path }, delta);
      });
    };
    for (const [metric, d] of Object.entries(DATAPATH_COUNTERS) as [CounterClass['metric'], typeof DATAPATH_COUNTERS[keyof typeof DATAPATH_COUNTERS]][]) {
      // The first of them, collected after the gauges read the maps, brings them all up to date.
      const collect = counters.size === 0 ? { collect: follow } : {};
      counters.set(metric, new Counter({ name: d.name, help: d.help, labelNames: [...d.labels], registers, ...collect }));
    }
    const forwardBytes = new Counter({
      name: 'dsrlb_forward_bytes_total', help: 'Bytes of the packets the datapath forwarded, by path (each frame as it left, from its Ethernet header)',
      labelNames: ['path'], registers,
    });
    for (const c of classes.values()) {
      counters.get(c.metric)?.inc(labelsOf(c), 0);
      if (c.metric === 'forward') forwardBytes.inc({ path: c.path }, 0);
    }
  }
}
