/**
 * The dsrlb agent: puts the datapath on the devices, follows the source,
 * and keeps the maps equal to the plan. Start order (docs/agent.md): every
 * check that needs no kernel change (flags, devices, source, the health and
 * metrics ports), then the bpffs root's lock, then the objects; programs are
 * attached over adopted maps at once (replacing in place), over new maps only
 * after the first complete sync has filled them. SIGTERM stops following but
 * leaves the programs attached and the maps pinned, so traffic keeps flowing.
 */
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildLayout, datapathObjects, ensureBpffs, layoutDir, layoutDirs } from '../bpf/index.js';
import { MapSpecs, mapFill, openPinned, withPinned, type MapSpec } from '../bpf/map-specs.js';
import type { Lb4Backend } from '../bpf/codecs/services.js';
import type { BpfMap } from '../bpf/map.js';
import { readStatBytes, readStats } from '../bpf/stats.js';
import { Reconciler } from '../reconcile/reconciler.js';
import { CapacityGate, type Rejection } from '../reconcile/capacity.js';
import { nodeIdForAddress } from '../reconcile/node-ids.js';
import { changesByMap } from '../reconcile/result.js';
import { FullSync } from '../model/full-sync.js';
import { frontendKeyOf } from '../model/keys.js';
import { frontendKey } from '../plan/keys.js';
import type { Source, SourceErrorKind, StateChange } from '../k8s/source.js';
import { RESOURCE_KINDS } from '../k8s/cluster-store.js';
import type { ClusterState } from '../api/types.js';
import type { Frontend } from '../plan/types.js';
import { tableMaxEntries, type AgentConfig } from './config.js';
import { attachDatapath, loadDatapath, type AttachOptions, type LoadedDatapath } from './datapath-loader.js';
import { checkForeignXdp } from './foreign-xdp.js';
import { socketLbTarget, startSocketLb, type SocketLbTarget } from './socket-lb.js';
import { HealthCheckNodePorts } from './health-check-node-ports.js';
import { NodeNeighbours } from './neighbours.js';
import { closeServer, healthy, startHealthServer, type SyncStatus } from './health-server.js';
import { lockRoot, type RootLock } from './lock.js';
import { AgentMetrics, type DatapathReadings } from './metrics.js';
import { createLogger } from './log.js';
import { SourceState } from './source-state.js';
import { buildInfo } from './version.js';
import { startMetricsServer } from './metrics-server.js';
import { nodeEligible, startProxyHealthServer } from './proxy-health.js';
import { mapsHoldPlan, pinnedMapIds, pinsDiffer, WRITTEN_MAPS } from './pins.js';
import { servicesRoutes, type ServedPlan } from './services-endpoint.js';
import { preflight } from './preflight.js';
import { SyncPipeline, type LocalNode } from './sync.js';
import { TerminatingStore, TERMINATING_MAP } from './terminating-store.js';
import { LayoutUpgrade } from './upgrade.js';

/** How often the pins are compared with the maps the agent opened (also at every /healthz). */
const PIN_CHECK_MS = 5000;
/**
 * Maps whose fill dsrlb_map_fill_ratio reports: every one whose entries come
 * and go (arrays are always full; lb4_backends counts its live slots).
 */
const FILL_MAPS = [MapSpecs.services, MapSpecs.backends, MapSpecs.localBackends, MapSpecs.revnat, MapSpecs.maglev, MapSpecs.flows, MapSpecs.flowsNew,
  MapSpecs.dsrRevnat, MapSpecs.dsrRevnatNew, MapSpecs.backendFrontends, MapSpecs.maglevPrevSize, MapSpecs.fragRevnat, MapSpecs.snat, MapSpecs.snatNew, MapSpecs.affinity, MapSpecs.sockRevnat, MapSpecs.sourceRanges,
  MapSpecs.nodes, MapSpecs.nodeAddrs] as readonly MapSpec<unknown, unknown>[];
/** Largest revnat id (u16 in the datapath): a frontend needs one. */
const MAX_REVNAT_ID = 0xffff;

export interface AgentHooks {
  /** Something after start() made the agent unable to go on (attaching failed): the caller exits. */
  readonly onFatal?: (error: unknown) => void;
}

export class Agent {
  private readonly log: Logger;
  private datapath: LoadedDatapath | undefined;
  private attachOptions: AttachOptions | undefined;
  private socketLb: SocketLbTarget | undefined;
  private lock: RootLock | undefined;
  private reconciler: Reconciler | undefined;
  private pipeline: SyncPipeline | undefined;
  private terminating: TerminatingStore | undefined;
  private backendsView: BpfMap<number, Lb4Backend> | undefined;
  private source: Source | undefined;
  private sourceState: SourceState | undefined;
  private readonly servers: Server[] = [];
  private readonly status: SyncStatus = {};
  private hcPorts: HealthCheckNodePorts | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private pinTimer: NodeJS.Timeout | undefined;
  private expectedPins: Map<string, number | null> | undefined;
  private metrics: AgentMetrics | undefined;
  private readonly neighbours = new NodeNeighbours();
  private neighbourSignature = '';
  private rejectedSignature = '';
  /** `<bpffs-root>/v<layout id>`: where this build's maps are pinned. */
  private mapsDir = '';
  /** Another layout's maps to take over from, until the programs are replaced. */
  private upgrade: LayoutUpgrade | undefined;
  /** The last complete sync's plan, for /v1/services. */
  private served: ServedPlan | undefined;
  /** This node is not being deleted (kube-proxy's /healthz nodeEligible). */
  private nodeEligible = true;

  constructor(private readonly config: AgentConfig, logger?: Logger, private readonly hooks: AgentHooks = {}) {
    this.log = logger ?? createLogger({ level: config.logLevel, format: config.logFormat, base: { node: config.nodeName } });
  }

  async start(): Promise<void> {
    const c = this.config;
    // 1. Checks that change nothing: devices, addresses, the source; then the ports.
    const { local, mtu, source: created } = preflight(c);
    // Somebody else's XDP program stays unless the operator said otherwise.
    const foreignXdp = checkForeignXdp(c.devices, c.xdpReplaceForeign);
    const socketLb = socketLbTarget(c);
    this.socketLb = socketLb;
    // The build's map layout, from its objects' BTF (the socket LB's included): decides where its maps are pinned.
    // The table sizes are part of it: another size is another layout (new maps, entries carried over).
    const sizes = tableMaxEntries(c.tableSizes);
    const layout = buildLayout(Object.values(datapathObjects(c.bpfObjectDir)), sizes);
    this.sourceState = new SourceState(c.source.kind, created.description, () => created.source.status());
    const build = buildInfo();
    this.metrics = new AgentMetrics({
      build: { ...build, layout: layout.id },
      sourceErrorLabels: sourceErrorLabels(c.source.kind),
      datapath: () => this.readDatapath(),
      agent: () => ({
        programmed: this.programmed(), sourceConnected: this.sourceState?.connected() ?? false,
        ...(this.status.lastSyncedAt !== undefined ? { lastSyncedAt: this.status.lastSyncedAt } : {}),
      }),
    });
    this.servers.push(await startHealthServer(c.healthAddr, this.status, {
      version: build.version, source: () => this.sourceState?.report(), programmed: () => this.programmed(),
    }, () => this.checkPins(), servicesRoutes(() => this.served)));
    this.servers.push(await startMetricsServer(c.metricsAddr, this.metrics.registry));
    if (c.healthzBindAddress) {
      this.servers.push(await startProxyHealthServer(c.healthzBindAddress, () => ({
        healthy: healthy(this.status), nodeEligible: this.nodeEligible,
        ...(this.status.lastSyncedAt !== undefined ? { lastSyncedAt: this.status.lastSyncedAt } : {}),
      })));
    }

    // 2. One agent per bpffs root, before any map is opened.
    const mountedBpffs = ensureBpffs(c.bpffsRoot);
    if (mountedBpffs) {
      this.log.warn({ bpffsRoot: c.bpffsRoot }, 'no bpffs was mounted at /sys/fs/bpf in this mount namespace, so the agent mounted one: '
        + 'its pins vanish with the namespace. Mount bpffs on the host (and use `nsenter --net=`, not `ip netns exec`, which hides /sys/fs/bpf)');
    }
    this.lock = lockRoot(c.bpffsRoot);

    // 3. The objects, under this layout's directory (maps of another layout are shared
    // where unchanged, translated where not); programs go on now only if the maps already hold a plan.
    this.mapsDir = layoutDir(c.bpffsRoot, layout.id);
    mkdirSync(this.mapsDir, { recursive: true });
    this.upgrade = LayoutUpgrade.prepare(layoutDirs(c.bpffsRoot), this.mapsDir, layout, this.log);
    const holdsPlan = mapsHoldPlan(this.mapsDir);
    this.datapath = loadDatapath(this.mapsDir, c.bpfObjectDir, sizes);
    this.upgrade?.carry();
    this.attachOptions = {
      devices: c.devices, xdpMode: c.xdpMode, mode: c.mode, nodeId: nodeIdForAddress(local.address), nodeAddress: local.address, mtu,
      genevePort: c.genevePort, generatedReplies: c.generatedReplies,
      sockNetnsCookie: socketLb.netnsCookie,
    };
    for (const p of foreignXdp) this.log.warn(p, 'replacing an XDP program dsrlb did not attach (--xdp-replace-foreign)');
    if (holdsPlan) this.attach('the pinned maps hold a plan: programs replaced in place');
    else this.log.info({ maps: this.mapsDir }, 'new maps: the first sync fills them before any program is attached');

    this.terminating = TerminatingStore.open(this.mapsDir);
    this.backendsView = openPinned(this.mapsDir, MapSpecs.backends);
    const terminatingSince = this.terminating.restore(this.backendsView);
    const fullSync = new FullSync();
    this.reconciler = Reconciler.open({
      bpffsRoot: this.mapsDir, maglevMaxSize: c.maglevTableSize, terminatingSince, fullSync, revnatFallback: c.revnatFallback,
    });
    this.pipeline = new SyncPipeline(local, this.reconciler, fullSync, false, {
      gate: new CapacityGate(this.capacity()), inMaps: this.servingNow(),
    });
    this.expectedPins = pinnedMapIds(this.mapsDir, [...WRITTEN_MAPS, TERMINATING_MAP]);
    this.pinTimer = setInterval(() => this.checkPins(), PIN_CHECK_MS);
    this.pinTimer.unref();

    this.hcPorts = new HealthCheckNodePorts('0.0.0.0', () => healthy(this.status));
    this.source = created.source;
    created.source.onError((e) => {
      this.sourceState?.onError(e);
      this.metrics?.sourceErrors.inc({ resource: String(e.resource), kind: e.kind });
      if (this.status.lastSyncedAt === undefined) this.status.waitingFor = `the source has not delivered a complete state: ${e.toLine()}`;
      this.log.warn({ code: e.code, resource: e.resource, kind: e.kind }, e.toLine());
    });
    this.log.info({ source: created.description }, 'following');
    created.source.start((state, change) => this.onChange(state, change, local));
    this.resyncTimer = setInterval(() => this.resync(), c.syncPeriodMs);
    this.resyncTimer.unref();
  }

  /** --sync-period: reads the maps back and repairs what differs from the plan (an entry changed or deleted by hand). */
  private resync(): void {
    try {
      const r = this.pipeline?.resync();
      if (!r) return;
      this.metrics?.resyncs.inc({ outcome: 'ok' });
      const repaired = Object.fromEntries(Object.entries(changesByMap(r)).filter(([, n]) => n > 0));
      for (const [map, n] of Object.entries(repaired)) this.metrics?.resyncRepairs.inc({ map }, n);
      const total = Object.values(repaired).reduce((a, b) => a + b, 0);
      if (total > 0) this.log.warn({ repaired, tables: r.tables, durationMs: Number(r.durationMs.toFixed(3)) }, 'resync repaired map entries that differed from the plan');
      else this.log.info({ durationMs: Number(r.durationMs.toFixed(3)) }, 'resync: the maps match the plan');
      this.saveTerminating();
      this.scheduleSweep(r.nextSweepAt);
    } catch (e) {
      this.metrics?.resyncs.inc({ outcome: 'failed' });
      this.log.error({ err: e }, 'resync failed; the next sync compares the maps with the plan again');
    }
  }

  /** Services (by name) and frontends as last applied: none before the first sync. */
  private programmed(): { services: number; frontends: number } {
    return this.reconciler?.programmed() ?? { services: 0, frontends: 0 };
  }

  /** What the maps hold, from their sizes (revnat ids are u16; backend id 0 is never used). */
  private capacity(): { frontends: number; backends: number; sourceRanges: number } {
    const root = this.mapsDir;
    const max = <K, V>(s: MapSpec<K, V>): number => withPinned(root, s, (m) => m.info().maxEntries);
    return {
      frontends: Math.min(max(MapSpecs.services), max(MapSpecs.revnat), MAX_REVNAT_ID),
      backends: max(MapSpecs.backends) - 1,
      sourceRanges: max(MapSpecs.sourceRanges),
    };
  }

  /** Frontends lb4_services holds now, so a restart keeps admitting the Services that were serving. */
  private servingNow(): (f: Frontend) => boolean {
    const keys = new Set<string>(withPinned(this.mapsDir, MapSpecs.services, (m) => m.entries().map(([k]) => frontendKeyOf(k))));
    return (f) => keys.has(frontendKey(f));
  }

  private attach(why: string): void {
    if (!this.datapath || !this.attachOptions) return;
    const attached = attachDatapath(this.datapath, this.attachOptions, () => this.upgrade?.beforeSwap());
    this.status.attached = true;
    const { mode, mtu, nodeAddress } = this.attachOptions;
    this.log.info({ devices: Object.fromEntries(attached), mode, mtu, nodeAddress, maps: this.mapsDir }, `datapath attached (${why})`);
    // Before the old layout's pins go: the cgroup links move to this layout's programs in place (BPF_LINK_UPDATE, no gap).
    if (this.socketLb) startSocketLb(this.config.bpffsRoot, this.socketLb, this.datapath.sock, this.log);
    this.finishUpgrade();
  }

  /** The programs read this layout's maps now: the old layout's last entries come over and its pins go. */
  private finishUpgrade(): void {
    const upgrade = this.upgrade;
    this.upgrade = undefined;
    try {
      upgrade?.afterSwap();
    } catch (e) {
      this.log.warn({ err: e }, 'upgrade: removing the old layout\'s pins failed; `dsrlb-agent cleanup` is not needed, the next start retries');
    }
  }

  /** Compares the pins with the maps opened at start; logs when that changes. */
  private checkPins(): void {
    if (!this.expectedPins) return;
    const problem = pinsDiffer(this.expectedPins, pinnedMapIds(this.mapsDir, [...this.expectedPins.keys()]));
    if (problem !== this.status.pinsProblem) {
      if (problem) this.log.error(problem);
      else this.log.info('the pins name the maps this agent writes again');
    }
    if (problem === undefined) delete this.status.pinsProblem;
    else this.status.pinsProblem = problem;
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
      this.saveTerminating();
      // New maps now hold a complete plan: only now may programs read them.
      if (!this.status.attached) this.attachOrDie();
      this.status.lastSyncedAt = Date.now();
      this.served = { frontends: update.report.plan.frontends, node: local, nodeAddresses: outcome.nodeAddresses, syncedAt: this.status.lastSyncedAt };
      delete this.status.lastError;
      delete this.status.waitingFor;
      this.reportRejected(outcome.rejected);
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

  private attachOrDie(): void {
    try {
      this.attach('the first sync filled the new maps');
    } catch (e) {
      this.status.lastError = `attaching the programs failed: ${e instanceof Error ? e.message : String(e)}`;
      this.log.error({ err: e }, this.status.lastError);
      this.hooks.onFatal?.(e);
    }
  }

  /** Services left out for want of room: logged when the set changes, counted per Service, shown by /healthz. */
  private reportRejected(rejected: readonly Rejection[]): void {
    this.status.rejected = rejected;
    this.metrics?.setRejected(rejected);
    const signature = rejected.map((r) => `${r.service}:${r.frontends}:${r.keptPrevious}`).join(',');
    if (signature === this.rejectedSignature) return;
    this.rejectedSignature = signature;
    for (const r of rejected) {
      this.log.warn({ service: r.service, frontends: r.frontends, keptPrevious: r.keptPrevious },
        `${r.service}: ${r.keptPrevious ? 'its update is' : `its ${r.frontends} frontends are`} not in the maps: ${r.reason}`);
    }
    if (rejected.length === 0) this.log.info('every planned Service is in the maps');
  }

  /** The reconciler's TERMINATING start times, pinned so the grace period survives a restart. */
  private saveTerminating(): void {
    const view = this.backendsView;
    if (!view || !this.reconciler) return;
    try {
      this.terminating?.save(this.reconciler.terminating(), (id) => view.lookup(id)?.generation);
    } catch (e) {
      this.log.warn({ err: e }, `recording terminating backends in ${TERMINATING_MAP} failed: a restart would start their grace again`);
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
        this.saveTerminating();
        if (r) this.scheduleSweep(r.nextSweepAt);
      } catch (e) {
        this.log.error({ err: e }, 'sweeping terminating backends failed');
      }
    }, Math.max(0, at - Date.now()));
    this.sweepTimer.unref();
  }

  private readDatapath(): DatapathReadings | undefined {
    const root = this.mapsDir;
    try {
      const fill: Record<string, number> = {};
      const entries: Record<string, number> = {};
      for (const spec of FILL_MAPS) {
        if (!existsSync(join(root, spec.name))) continue;
        const { entries: n, info } = mapFill(root, spec);
        entries[spec.name] = n;
        fill[spec.name] = info.maxEntries > 0 ? n / info.maxEntries : 0;
      }
      return {
        frontends: entries[MapSpecs.services.name] ?? 0, backends: entries[MapSpecs.backends.name] ?? 0,
        flows: (entries[MapSpecs.flows.name] ?? 0) + (entries[MapSpecs.flowsNew.name] ?? 0), fill, counters: readStats(root), bytes: readStatBytes(root),
      };
    } catch (e) {
      this.log.warn({ err: e }, 'reading the maps for metrics failed');
      return undefined;
    }
  }

  /** Stops following; programs stay attached and maps pinned (said only when so). */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    if (this.pinTimer) clearInterval(this.pinTimer);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    await this.source?.stop();
    await this.hcPorts?.stop();
    await Promise.all(this.servers.map((s) => closeServer(s)));
    this.checkPins();
    this.reconciler?.close();
    this.terminating?.close();
    this.backendsView?.close();
    this.datapath?.close();
    this.lock?.release();
    if (!this.datapath) return;
    if (!this.status.attached) this.log.info('stopped before the first sync completed: this agent attached nothing; whatever datapath was running is unchanged');
    else if (this.status.pinsProblem) this.log.warn(`stopped; programs stay attached, but ${this.status.pinsProblem}`);
    else this.log.info('stopped; programs stay attached and maps pinned');
  }
}

/** dsrlb_source_errors_total's label pairs that can happen with this kind of source, each started at zero. */
function sourceErrorLabels(kind: 'kubernetes' | 'manifests'): { resource: string; kind: SourceErrorKind }[] {
  const api: SourceErrorKind[] = ['list', 'watch', 'watch_stalled', 'invalid_object'];
  const files: SourceErrorKind[] = ['read', 'parse', 'limit', 'invalid_object'];
  const perResource = kind === 'kubernetes'
    ? RESOURCE_KINDS.flatMap((resource) => api.map((k) => ({ resource: String(resource), kind: k })))
    : files.map((k) => ({ resource: 'manifests', kind: k }));
  return [...perResource, { resource: 'consumer', kind: 'handler' }];
}
