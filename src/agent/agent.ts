/**
 * The dsrlb agent: puts the datapath on the devices, follows the source,
 * and keeps the maps equal to the plan. SIGTERM stops following but leaves
 * the programs attached and the maps pinned, so traffic keeps flowing.
 */
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { MapSpecs, mapFill, type MapSpec } from '../bpf/map-specs.js';
import { readStats } from '../bpf/stats.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { nodeIdForAddress } from '../reconcile/node-ids.js';
import { PortFilterWriter } from '../reconcile/port-filter-writer.js';
import { createSource } from '../k8s/create-source.js';
import type { Source, StateChange } from '../k8s/source.js';
import type { ClusterState } from '../api/types.js';
import type { AgentConfig } from './config.js';
import { loadDatapath, deviceIpv4, deviceMtu, type LoadedDatapath } from './datapath-loader.js';
import { HealthCheckNodePorts } from './health-check-node-ports.js';
import { NodeNeighbours } from './neighbours.js';
import { closeServer, healthy, startHealthServer, type SyncStatus } from './health-server.js';
import { AgentMetrics, type DatapathReadings } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { nodeEligible, startProxyHealthServer } from './proxy-health.js';
import { SyncPipeline, type LocalNode } from './sync.js';

export class Agent {
  private readonly log: Logger;
  private datapath: LoadedDatapath | undefined;
  private reconciler: Reconciler | undefined;
  private pipeline: SyncPipeline | undefined;
  private portFilter: PortFilterWriter | undefined;
  private source: Source | undefined;
  private readonly servers: Server[] = [];
  private readonly status: SyncStatus = {};
  private hcPorts: HealthCheckNodePorts | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private metrics: AgentMetrics | undefined;
  private readonly neighbours = new NodeNeighbours();
  private neighbourSignature = '';
  /** This node is not being deleted (kube-proxy's /healthz nodeEligible). */
  private nodeEligible = true;

  constructor(private readonly config: AgentConfig, logger?: Logger) {
    this.log = logger ?? pino({ level: config.logLevel, base: { node: config.nodeName } });
  }

  async start(): Promise<void> {
    const c = this.config;
    const device = c.devices[0] ?? '';
    const local: LocalNode = { name: c.nodeName, address: c.nodeAddress ?? deviceIpv4(device) };
    const mtu = c.mtu ?? deviceMtu(device);

    this.datapath = loadDatapath({
      bpffsRoot: c.bpffsRoot, devices: c.devices, xdpMode: c.xdpMode, mode: c.mode,
      nodeId: nodeIdForAddress(local.address), nodeAddress: local.address, mtu,
    });
    this.log.info({ devices: Object.fromEntries(this.datapath.attached), mode: c.mode, mtu, nodeAddress: local.address, bpffsRoot: c.bpffsRoot },
      'datapath attached');
    if (this.datapath.mountedBpffs) {
      this.log.warn({ bpffsRoot: c.bpffsRoot }, 'no bpffs was mounted at /sys/fs/bpf in this mount namespace, so the agent mounted one: '
        + 'its pins vanish with the namespace. Mount bpffs on the host (and use `nsenter --net=`, not `ip netns exec`, which hides /sys/fs/bpf)');
    }
    this.reconciler = Reconciler.open({ bpffsRoot: c.bpffsRoot, maglevMaxSize: c.maglevTableSize });
    this.portFilter = new PortFilterWriter(c.bpffsRoot);
    this.pipeline = new SyncPipeline(local, this.reconciler, this.portFilter);

    this.metrics = new AgentMetrics(() => this.readDatapath());
    this.hcPorts = new HealthCheckNodePorts('0.0.0.0', () => healthy(this.status));
    this.servers.push(await startHealthServer(c.healthAddr, this.status));
    this.servers.push(await startMetricsServer(c.metricsAddr, this.metrics.registry));
    if (c.healthzBindAddress) {
      this.servers.push(await startProxyHealthServer(c.healthzBindAddress, () => ({
        healthy: healthy(this.status), nodeEligible: this.nodeEligible,
        ...(this.status.lastSyncedAt !== undefined ? { lastSyncedAt: this.status.lastSyncedAt } : {}),
      })));
    }

    const { source, description } = createSource(c.source);
    this.source = source;
    source.onError((e) => {
      this.metrics?.sourceErrors.inc({ resource: String(e.resource), kind: e.kind });
      this.log.warn({ code: e.code, resource: e.resource, kind: e.kind }, e.toLine());
    });
    this.log.info({ source: description }, 'following');
    source.start((state, change) => this.onChange(state, change, local));
  }

  private async onChange(state: ClusterState, change: StateChange, local: LocalNode): Promise<void> {
    const pipeline = this.pipeline;
    if (!pipeline) return;
    this.nodeEligible = nodeEligible(state.nodes.get(local.name));
    try {
      const outcome = pipeline.handle(state, change);
      const { update, result } = outcome;
      if (outcome.full || update.healthCheckNodePortsChanged) {
        await this.hcPorts?.sync(update.report.plan.healthCheckNodePorts);
        for (const [port, err] of this.hcPorts?.errors ?? []) this.log.warn({ port }, err.message);
      }
      const latency = outcome.syncedAt - change.since;
      this.metrics?.syncDuration.observe(latency / 1000);
      this.status.lastSyncedAt = Date.now();
      delete this.status.lastError;
      if (update.warningsChanged || outcome.full) {
        for (const w of update.report.warnings) this.log.warn({ service: w.service }, w.message);
      }
      for (const w of result?.warnings ?? []) this.log.warn({ service: w.service }, w.message);
      if (result) this.scheduleSweep(result.nextSweepAt);
      this.keepNeighbours(outcome.nodeAddresses, local);
      this.log.info({
        reason: change.reason, full: outcome.full, latencyMs: Number(latency.toFixed(3)),
        frontends: { added: update.frontends.added.length, updated: update.frontends.updated.length, removed: update.frontends.removed.length },
        ...(result ? { services: result.services, backends: result.backends, tables: result.tables } : {}),
      }, 'synced');
    } catch (e) {
      // The maps keep the last good state; the next change retries (the plan cache rebuilds after a failure).
      this.metrics?.syncErrors.inc();
      this.status.lastError = e instanceof Error ? e.message : String(e);
      this.log.error({ err: e }, 'sync failed; the datapath keeps the last good state');
    }
  }

  /** Managed neighbour entries towards every other node, refreshed when the set of nodes changes. */
  private keepNeighbours(addresses: ReadonlyMap<string, string>, local: LocalNode): void {
    const others = [...addresses.values()].filter((a) => a !== local.address).sort();
    const signature = others.join(',');
    if (signature === this.neighbourSignature) return;
    try {
      const r = this.neighbours.sync(others);
      this.neighbourSignature = signature;
      this.log.info({ ...r, managed: this.neighbours.size }, 'neighbour entries towards nodes updated');
    } catch (e) {
      this.log.warn({ err: e }, 'managing neighbour entries failed: traffic to nodes without one goes through the stack until it resolves');
    }
  }

  /** Terminating backends are deleted after their grace period, even if nothing else changes. */
  private scheduleSweep(at: number | null): void {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
    if (at === null) return;
    this.sweepTimer = setTimeout(() => {
      try {
        const r = this.reconciler?.sweep();
        if (r) this.scheduleSweep(r.nextSweepAt);
      } catch (e) {
        this.log.error({ err: e }, 'sweeping terminating backends failed');
      }
    }, Math.max(0, at - Date.now()));
    this.sweepTimer.unref();
  }

  private readDatapath(): DatapathReadings | undefined {
    const root = this.config.bpffsRoot;
    try {
      const count = <K, V>(spec: MapSpec<K, V>): { n: number; max: number } => {
        const { entries, info } = mapFill(root, spec);
        return { n: entries, max: info.maxEntries };
      };
      const services = count(MapSpecs.services);
      const backends = count(MapSpecs.backends);
      const flows = count(MapSpecs.flows);
      const dsr = count(MapSpecs.dsrRevnat);
      return {
        frontends: services.n, backends: backends.n, flows: flows.n,
        fill: {
          lb4_services: services.n / services.max, lb4_backends: backends.n / backends.max,
          lb4_flows: flows.n / flows.max, lb4_dsr_revnat: dsr.n / dsr.max,
        },
        counters: readStats(root),
      };
    } catch (e) {
      this.log.warn({ err: e }, 'reading the maps for metrics failed');
      return undefined;
    }
  }

  /** Stops following; programs stay attached and maps pinned. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    await this.source?.stop();
    await this.hcPorts?.stop();
    await Promise.all(this.servers.map((s) => closeServer(s)));
    this.reconciler?.close();
    this.portFilter?.close();
    this.datapath?.close();
    this.log.info('stopped; programs stay attached and maps pinned');
  }
}
