/**
 * Control-plane benchmark (issue 4), printed as one JSON object. Not a test:
 * it asserts nothing about time, it measures.
 *
 * The real pipeline, in process: a Source (the StoreSource every source is
 * built on: ClusterStore, throttled hand-over, change batches; objects are
 * validated and defaulted like the Kubernetes source does) -> PlanCache
 * (incremental plan) -> Reconciler (desired state, ids, Maglev, map writes)
 * -> the real BPF maps of xdp_lb.o, pinned under a private bpffs root that is
 * removed at the end. Objects arrive as JSON text, as from the API server (a
 * list body per resource, then one watch event per change), and are decoded
 * in the timed path; what is not in it is the network and the HTTP client.
 *
 * Phases:
 * 1. cold converge: N Services x E endpoints (one EndpointSlice of up to 100
 *    endpoints per 100), from the first object put into the source to the
 *    maps complete (checked by reading them back afterwards); peak RSS.
 * 2. single-endpoint changes (an endpoint's readiness flips, or a pod is
 *    replaced by one at a new address), one at a time: latency from the
 *    moment the event reaches the source to the moment the reconciler has
 *    written the maps; with the plan step (PlanCache.update) on its own.
 * 3. the plan step alone: the same kind of changes applied to a copy of the
 *    state with nothing else running in between (the cost target: a
 *    single-endpoint change at 10,000 Services well under 1 ms), next to a
 *    full buildPlanReport, which is what a consumer without the cache would
 *    pay per change.
 *
 * Run as root: npx tsx bench/controlplane.ts [--services 10000] [--endpoints 10]
 *   [--nodes 100] [--changes 1000] [--warmup 50] [--throttle-ms 0] [--no-validate]
 *   [--budget-s 100] [--full-sync] [--cpu-prof FILE]
 * Changes go to the reconciler per service (Reconciler.updateServices with
 * PlanUpdate.services); --full-sync hands it the whole plan every time
 * instead (Reconciler.sync), for comparison.
 * --cpu-prof writes a V8 CPU profile of both phases (started after the BPF
 * object is loaded: node's own --cpu-prof sends SIGPROF, and a signal during
 * verification makes the program load fail with EAGAIN).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { BPFFS_MOUNT, BpfObjectFile, BpfObjects, ensureBpffs } from '../src/bpf/index.js';
import { MapSpecs, mapFill, openPinned, type MapSpec } from '../src/bpf/map-specs.js';
import { Reconciler, type SyncResult } from '../src/datapath/index.js';
import { cloneState } from '../src/k8s/cluster-store.js';
import { validateEndpointSlice } from '../src/k8s/manifest-validate.js';
import type { ResourceKind } from '../src/k8s/cluster-store.js';
import type { ClusterState, V1EndpointSlice, V1Node, V1Service } from '../src/k8s/types.js';
import type { StateChange } from '../src/k8s/source.js';
import { PlanCache } from '../src/plan/incremental.js';
import { SyncPipeline } from '../src/agent/sync.js';
import { PortFilterWriter } from '../src/datapath/port-filter-writer.js';
import { buildPlanReport, type PlanNode } from '../src/plan/index.js';
import {
  initialEndpoints, makeNode, makeService, makeSlices, nodeAddress, nodeName, objectKey, type ClusterShape,
  type EndpointState,
} from './lib/cluster.js';
import { FeedSource } from './lib/feed-source.js';
import { mib, round, summarize } from './lib/stats.js';
import { seededRandom } from '../test/helpers/rng.js';

// ---- arguments -------------------------------------------------------------------

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a non-negative number`);
  return v;
}

const shape: ClusterShape = {
  services: arg('services', 10_000),
  endpointsPerService: arg('endpoints', 10),
  nodes: arg('nodes', 100),
  nodePortEvery: 10,
};
const CHANGES = arg('changes', 1000);
const WARMUP = arg('warmup', 50);
const THROTTLE_MS = arg('throttle-ms', 0);
const VALIDATE = !process.argv.includes('--no-validate');
const BUDGET_MS = arg('budget-s', 100) * 1000;
const FULL_SYNC = process.argv.includes('--full-sync');
const CPU_PROF = (() => {
  const i = process.argv.indexOf('--cpu-prof');
  return i < 0 ? undefined : process.argv[i + 1];
})();

if (process.getuid?.() !== 0) {
  process.stderr.write('bench/controlplane needs root (bpf(), bpffs): run it as root\n');
  process.exit(1);
}


// ---- the pipeline ------------------------------------------------------------------

interface Handled {
  readonly change: StateChange;
  readonly start: number;
  readonly planned: number;
  readonly synced: number;
  readonly sync: SyncResult | null;
  readonly full: boolean;
  readonly frontendsChanged: number;
}

const LOCAL = { name: nodeName(0), address: nodeAddress(0) };

/** The agent's own pipeline (src/agent/sync.ts), with a hook to await each hand-over. */
class Pipeline {
  private readonly sync: SyncPipeline;
  private waiter: ((h: Handled) => void) | undefined;
  /** The source's live state, as last handed over. */
  state: ClusterState | undefined;

  constructor(reconciler: Reconciler, root: string) {
    this.sync = new SyncPipeline(LOCAL, reconciler, new PortFilterWriter(root), FULL_SYNC);
  }

  /** The next hand-over, once it is written to the maps. */
  next(): Promise<Handled> {
    return new Promise((resolve) => { this.waiter = resolve; });
  }

  readonly onChange = (state: ClusterState, change: StateChange): void => {
    const start = performance.now();
    this.state = state;
    const o = this.sync.handle(state, change);
    const f = o.update.frontends;
    const w = this.waiter;
    this.waiter = undefined;
    w?.({ change, start, planned: o.plannedAt, synced: o.syncedAt, sync: o.result, full: o.full, frontendsChanged: f.added.length + f.updated.length + f.removed.length });
  };
}

// ---- GC pauses, to explain the tail ------------------------------------------------------

const gcPauses: { start: number; duration: number; kind: number }[] = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcPauses.push({ start: e.startTime, duration: e.duration, kind: (e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0 });
  }
});

function gcDuring(from: number, to: number): number {
  let ms = 0;
  for (const g of gcPauses) if (g.start < to && g.start + g.duration > from) ms += g.duration;
  return ms;
}

// ---- profiling ----------------------------------------------------------------------

function post(session: Session, method: string, params: object = {}): Promise<unknown> {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
}

async function startProfile(): Promise<Session | undefined> {
  if (!CPU_PROF) return undefined;
  const session = new Session();
  session.connect();
  await post(session, 'Profiler.enable');
  await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
  await post(session, 'Profiler.start');
  return session;
}

async function stopProfile(session: Session | undefined): Promise<void> {
  if (!session || !CPU_PROF) return;
  const { profile } = (await post(session, 'Profiler.stop')) as { profile: unknown };
  writeFileSync(CPU_PROF, JSON.stringify(profile));
  session.disconnect();
}

// ---- main ----------------------------------------------------------------------------

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0] ?? 0;
  const root = join(BPFFS_MOUNT, `dsrlb-bench-${randomBytes(4).toString('hex')}`);
  const cleanups: (() => void)[] = [() => rmSync(root, { recursive: true, force: true })];
  const cleanup = (): void => {
    while (cleanups.length > 0) {
      try {
        (cleanups.pop() as () => void)();
      } catch {
        // best effort: the next step still runs
      }
    }
  };
  process.once('SIGINT', () => { cleanup(); process.exit(130); });
  process.once('SIGTERM', () => { cleanup(); process.exit(143); });
  try {
    ensureBpffs(root);
    let t = performance.now();
    const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
    cleanups.push(() => obj.close());
    const reconciler = Reconciler.open({ bpffsRoot: root });
    cleanups.push(() => reconciler.close());
    const loadMs = performance.now() - t;

    // The cluster as the API server would send it: one list body per resource (made before the clock starts).
    const endpoints: EndpointState[][] = Array.from({ length: shape.services }, (_, i) => initialEndpoints(i, shape));
    const listBody = (kind: string, items: unknown[]): string => JSON.stringify({ apiVersion: 'v1', kind, metadata: { resourceVersion: '1' }, items });
    const bodies: [ResourceKind, string][] = [
      ['nodes', listBody('NodeList', Array.from({ length: shape.nodes }, (_, i) => makeNode(i)))],
      ['services', listBody('ServiceList', Array.from({ length: shape.services }, (_, i) => makeService(i, shape)))],
      ['endpointSlices', listBody('EndpointSliceList', endpoints.flatMap((e, i) => makeSlices(i, shape, e)))],
    ];
    const listBytes = bodies.reduce((n, [, b]) => n + b.length, 0);
    let sliceCount = 0;
    const rssBefore = process.memoryUsage().rss;

    const profiler = await startProfile();
    gcObserver.observe({ entryTypes: ['gc'] });
    const source = new FeedSource({ throttleMs: THROTTLE_MS, validate: VALIDATE });
    const pipeline = new Pipeline(reconciler, root);
    cleanups.push(() => void source.stop());

    // ---- 1. cold converge
    const coldDone = pipeline.next();
    t = performance.now();
    source.start(pipeline.onChange);
    let decodeMs = 0;
    while (bodies.length > 0) {
      const [kind, body] = bodies.shift() as [ResourceKind, string];
      const d = performance.now();
      const list = JSON.parse(body) as { items: (V1Service | V1EndpointSlice | V1Node)[] };
      decodeMs += performance.now() - d;
      for (const o of list.items) source.put(kind, kind === 'nodes' ? o.metadata?.name ?? '' : objectKey(o), o);
      if (kind === 'endpointSlices') sliceCount = list.items.length;
    }
    const listed = performance.now();
    source.listed();
    const cold = await coldDone;
    const coldMs = cold.synced - t;
    const rssAfterCold = process.memoryUsage().rss;
    // With node --expose-gc: what stays live after the cold converge (store + plan cache + reconciler state).
    const forceGc = (globalThis as { gc?: () => void }).gc;
    forceGc?.();
    const liveHeapAfterCold = forceGc ? process.memoryUsage().heapUsed : null;

    // Maps complete? Read them back (not timed).
    const expectedFrontends = shape.services + (shape.nodePortEvery > 0 ? Math.ceil(shape.services / shape.nodePortEvery) : 0);
    const count = <K, V>(spec: MapSpec<K, V>): number => mapFill(root, spec).entries;
    const maps = {
      services: count(MapSpecs.services),
      backends: count(MapSpecs.backends),
      maglevTables: count(MapSpecs.maglev),
      revnat: count(MapSpecs.revnat),
      nodes: count(MapSpecs.nodes),
    };
    const complete = maps.services === expectedFrontends && maps.backends === shape.services * shape.endpointsPerService
      && maps.maglevTables === shape.services && maps.revnat === expectedFrontends;

    // ---- 2. single-endpoint changes
    const random = seededRandom(4);
    let nextPod = shape.services * shape.endpointsPerService;
    let generation = 2;
    const latencies: number[] = [];
    const planMs: number[] = [];
    const reconcileMs: number[] = [];
    const applyMs: number[] = [];
    const windows: [number, number][] = [];
    const syncs: SyncResult[] = [];
    /** From the event to the hand-over: decode, validate, store, the throttle's turn of the event loop. */
    const waitMs: number[] = [];
    const touched = new Set<number>();
    let done = 0;
    const changesStart = performance.now();
    for (let k = 0; k < WARMUP + CHANGES; k++) {
      if (performance.now() - changesStart > BUDGET_MS) break;
      const i = Math.floor(random() * shape.services);
      const eps = endpoints[i] as EndpointState[];
      const j = Math.floor(random() * eps.length);
      const ep = eps[j] as EndpointState;
      // Half readiness flips, half a pod replaced by a new one at a new address.
      eps[j] = random() < 0.5 ? { pod: ep.pod, ready: !ep.ready } : { pod: nextPod++, ready: true };
      const slice = makeSlices(i, shape, eps, generation++)[Math.floor(j / 100)];
      if (!slice) throw new Error('no slice');
      touched.add(i);
      const watchEvent = JSON.stringify({ type: 'MODIFIED', object: slice });
      const handled = pipeline.next();
      const event = performance.now();
      const { object } = JSON.parse(watchEvent) as { object: V1EndpointSlice };
      source.put('endpointSlices', objectKey(object), object);
      const h = await handled;
      if (h.frontendsChanged === 0 || !h.sync) throw new Error(`change ${k} changed no frontend`);
      if (k < WARMUP) continue;
      done++;
      latencies.push(h.synced - event);
      planMs.push(h.planned - h.start);
      reconcileMs.push(h.synced - h.planned);
      applyMs.push(h.sync.durationMs);
      windows.push([event, h.synced]);
      waitMs.push(h.start - event);
      syncs.push(h.sync);
      // Let timers and I/O run between events, as they would in the agent.
      await new Promise((r) => setImmediate(r));
    }
    const changesMs = performance.now() - changesStart;
    await stopProfile(profiler);
    // GC entries reach the observer asynchronously.
    await new Promise((r) => setTimeout(r, 50));
    const gcInChange = windows.map(([a, b]) => gcDuring(a, b));
    // The tail, explained: the slowest changes with where their time went.
    const slowest = latencies.map((ms, i) => ({ i, ms })).sort((a, b) => b.ms - a.ms).slice(0, 10).map(({ i, ms }) => {
      const r = syncs[i] as SyncResult;
      return {
        eventToMapMs: round(ms), sourceMs: round(waitMs[i] as number), planMs: round(planMs[i] as number), reconcileMs: round(reconcileMs[i] as number),
        gcMs: round(gcInChange[i] as number), tables: r.tables,
      };
    });
    const gcHit = gcInChange.filter((g) => g > 0).length;
    const phaseGc = gcPauses.filter((g) => g.start >= changesStart && g.start <= changesStart + changesMs);
    const peakRssPipeline = process.resourceUsage().maxRSS * 1024;

    // The maps follow: every touched Service's frontend counts its ready endpoints.
    const svcMap = openPinned(root, MapSpecs.services);
    let wrong = 0;
    try {
      for (const i of touched) {
        const clusterIP = makeService(i, shape).spec?.clusterIP as string;
        const v = svcMap.lookup({ address: clusterIP, port: 80, proto: 6, pad: undefined } as never);
        const ready = (endpoints[i] as EndpointState[]).filter((e) => e.ready).length;
        if (!v || v.backendCount !== ready) wrong++;
      }
    } finally {
      svcMap.close();
    }

    // ---- 3. the plan step alone
    const planAlone = planStepAlone(pipeline.state as ClusterState, { name: LOCAL.name, addresses: [LOCAL.address] }, endpoints, nextPod, generation);
    await new Promise((r) => setTimeout(r, 50));
    const planOnly = planAlone.summary();

    const coldSync = cold.sync;
    const out = {
      benchmark: 'controlplane',
      machine: {
        cpus: os.cpus().length, cpu: cpuModel(), memoryGiB: round(os.totalmem() / 2 ** 30, 1), kernel: os.release(), node: process.version,
        // Other work on the machine shows in the tails: the 1-minute load average at start and end.
        loadAverage: [round(loadAtStart, 2), round(os.loadavg()[0] ?? 0, 2)],
      },
      config: {
        services: shape.services, endpointsPerService: shape.endpointsPerService, nodes: shape.nodes,
        nodePortServices: expectedFrontends - shape.services, slices: sliceCount, listMiB: mib(listBytes), throttleMs: THROTTLE_MS, validate: VALIDATE,
        reconcile: FULL_SYNC ? 'sync (whole plan)' : 'updateServices (changed services)',
        changes: CHANGES, warmup: WARMUP,
      },
      objectLoadMs: round(loadMs, 1),
      cold: {
        convergeMs: round(coldMs, 1),
        targetMs: 1500,
        phases: {
          /** Decoding the list bodies, validating and storing every object. */
          sourceMs: round(listed - t, 1),
          decodeMs: round(decodeMs, 1),
          handOverWaitMs: round(cold.start - listed, 1),
          planMs: round(cold.planned - cold.start, 1),
          reconcileMs: round(cold.synced - cold.planned, 1),
          reconcileApplyMs: round(coldSync?.durationMs ?? 0, 1),
          reconcileDesiredMs: round(cold.synced - cold.planned - (coldSync?.durationMs ?? 0), 1),
          gcMs: round(gcDuring(t, cold.synced), 1),
        },
        maps: { ...maps, expectedFrontends, complete },
        tables: coldSync?.tables,
      },
      changes: {
        done,
        budgetExceeded: done < CHANGES,
        wallMs: round(changesMs, 0),
        eventToMapMs: summarize(latencies),
        targetP99Ms: 2,
        sourceMs: summarize(waitMs),
        planStepMs: summarize(planMs),
        reconcileMs: summarize(reconcileMs),
        reconcileApplyMs: summarize(applyMs),
        changesWithGc: gcHit,
        /** Every GC pause of the phase (also those between changes): how often a change can meet one. */
        gcInPhase: { pauses: phaseGc.length, totalMs: round(phaseGc.reduce((a, g) => a + g.duration, 0), 1), maxMs: round(Math.max(0, ...phaseGc.map((g) => g.duration)), 2) },
        gcMsInChanges: summarize(gcInChange),
        mapsFollow: { servicesChecked: touched.size, wrong },
        slowest,
      },
      planStepAlone: planOnly,
      memory: {
        rssBeforeMiB: mib(rssBefore),
        rssAfterColdMiB: mib(rssAfterCold),
        peakRssMiB: mib(peakRssPipeline),
        targetPeakRssMiB: 300,
        liveHeapAfterColdMiB: liveHeapAfterCold === null ? null : mib(liveHeapAfterCold),
        heapUsedMiB: mib(process.memoryUsage().heapUsed),
      },
    };
    gcObserver.disconnect();
    await source.stop();
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    cleanup();
  }
}

/**
 * The plan step with nothing else running: a copy of the state (same
 * objects), its own PlanCache, single-endpoint changes like phase 2's.
 */
function planStepAlone(live: ClusterState, node: PlanNode, liveEndpoints: readonly EndpointState[][], firstPod: number, firstGeneration: number) {
  const state = cloneState(live);
  const slices = state.endpointSlices as Map<string, V1EndpointSlice>;
  const endpoints = liveEndpoints.map((e) => [...e]);
  const t0 = performance.now();
  buildPlanReport(state, node);
  const t1 = performance.now();
  const cache = new PlanCache(node);
  cache.update(state, {});
  const t2 = performance.now();
  const random = seededRandom(5);
  let pod = firstPod;
  let generation = firstGeneration;
  const times: number[] = [];
  for (let k = 0; k < WARMUP + CHANGES; k++) {
    const i = Math.floor(random() * shape.services);
    const eps = endpoints[i] as EndpointState[];
    const j = Math.floor(random() * eps.length);
    const ep = eps[j] as EndpointState;
    eps[j] = random() < 0.5 ? { pod: ep.pod, ready: !ep.ready } : { pod: pod++, ready: true };
    const raw = makeSlices(i, shape, eps, generation++)[Math.floor(j / 100)] as V1EndpointSlice;
    const v = validateEndpointSlice(raw);
    const slice = v.status === 'valid' ? (v.object as V1EndpointSlice) : raw;
    const key = objectKey(slice);
    slices.set(key, slice);
    const start = performance.now();
    const u = cache.update(state, { endpointSlices: new Set([key]) });
    const took = performance.now() - start;
    if (u.frontends.updated.length === 0) throw new Error('plan step alone: a change changed nothing');
    if (k >= WARMUP) times.push(took);
  }
  return {
    services: cache.size,
    /** GC pauses arrive asynchronously: call after a turn of the event loop. */
    summary: () => ({
      services: cache.size,
      coldMs: round(t2 - t1, 1),
      coldGcMs: round(gcDuring(t1, t2), 1),
      fullBuildMs: round(t1 - t0, 1),
      fullBuildGcMs: round(gcDuring(t0, t1), 1),
      changeMs: summarize(times),
      targetMs: 1,
    }),
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/controlplane: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
