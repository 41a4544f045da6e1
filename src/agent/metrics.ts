/**
 * Prometheus metrics (prom-client) on --metrics-addr. Gauges that mirror the
 * datapath are read at scrape time, so a scrape never sees stale numbers.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Rejection } from '../reconcile/capacity.js';

export interface DatapathReadings {
  frontends: number;
  backends: number;
  flows: number;
  /** map name -> entries / max entries */
  fill: Record<string, number>;
  /** stats counter name -> packets, summed over CPUs */
  counters: Record<string, number>;
}

export class AgentMetrics {
  readonly registry = new Registry();
  readonly syncDuration: Histogram;
  readonly sourceErrors: Counter<'resource' | 'kind'>;
  readonly syncErrors: Counter;
  readonly resyncRepairs: Counter<'map'>;
  readonly resyncs: Counter<'outcome'>;
  private readonly rejected: Gauge<'service'>;

  constructor(read: () => DatapathReadings | undefined) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'dsrlb_process_' });
    this.syncDuration = new Histogram({
      name: 'dsrlb_sync_duration_seconds', help: 'Time from a source change to the maps updated',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2, 5], registers,
    });
    this.sourceErrors = new Counter({
      name: 'dsrlb_source_errors_total', help: 'Watch/list or manifest errors, by resource and kind', labelNames: ['resource', 'kind'], registers,
    });
    this.syncErrors = new Counter({ name: 'dsrlb_sync_errors_total', help: 'Syncs that failed to write the maps', registers });
    this.resyncRepairs = new Counter({
      name: 'dsrlb_resync_repairs_total', help: 'Map entries the periodic resync (--sync-period) found differing from the plan and rewrote or removed, by map',
      labelNames: ['map'], registers,
    });
    this.resyncs = new Counter({ name: 'dsrlb_resyncs_total', help: 'Periodic resyncs, by outcome (ok, failed)', labelNames: ['outcome'], registers });
    this.rejected = new Gauge({
      name: 'dsrlb_capacity_rejected_frontends', help: 'Frontends of a Service left out of the maps for want of room', labelNames: ['service'], registers,
    });

    // One read per scrape feeds all datapath gauges.
    let cached: DatapathReadings | undefined;
    const fresh = (): DatapathReadings | undefined => (cached = read());
    new Gauge({ name: 'dsrlb_frontends', help: 'Frontends in lb4_services', registers, collect() { const r = fresh(); if (r) this.set(r.frontends); } });
    new Gauge({ name: 'dsrlb_backends', help: 'Backends in lb4_backends', registers, collect() { if (cached) this.set(cached.backends); } });
    new Gauge({ name: 'dsrlb_flows', help: 'Entries in the LB flow table', registers, collect() { if (cached) this.set(cached.flows); } });
    new Gauge({
      name: 'dsrlb_map_fill_ratio', help: 'Entries / max entries per map', labelNames: ['map'], registers,
      collect() { for (const [map, v] of Object.entries(cached?.fill ?? {})) this.set({ map }, v); },
    });
    // The kernel counters only grow; the Prometheus counter follows them by deltas.
    const seen = new Map<string, number>();
    new Counter({
      name: 'dsrlb_datapath_packets_total', help: 'Datapath counters from the stats map, by verdict or drop reason', labelNames: ['counter'], registers,
      collect() {
        for (const [counter, v] of Object.entries(cached?.counters ?? {})) {
          const delta = v - (seen.get(counter) ?? 0);
          if (delta > 0) this.inc({ counter }, delta);
          seen.set(counter, v);
        }
      },
    });
  }

  setRejected(rejected: readonly Rejection[]): void {
    this.rejected.reset();
    for (const r of rejected) this.rejected.set({ service: r.service }, r.frontends);
  }
}
