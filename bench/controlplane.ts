/**
 * Control-plane benchmark (issue 4), printed as one JSON object. Not a test:
 * it asserts nothing about time, it measures.
 *
 * The real pipeline, in this process: a Source (the StoreSource every source
 * is built on: ClusterStore, throttled hand-over, change batches; objects are
 * validated and defaulted like the Kubernetes source does) -> PlanCache
 * (incremental plan) -> Reconciler (desired state, ids, Maglev, map writes)
 * -> the real BPF maps of xdp_lb.o, pinned under a private bpffs root that is
 * removed at the end. The cluster is generated and served by a child process
 * (bench/lib/cluster-feed.ts) as JSON text, as from the API server: each list
 * in pages of --page-size items (the Kubernetes source's page size, src/k8s/
 * list.ts), one page per request, then one watch event per change. This
 * process holds what an agent holds (one page body until it is decoded, then
 * the store, the plan cache, the reconciler's state), so its resident set is
 * the agent's. Receiving the pages from the pipe and decoding them are in the
 * timed path, as in an agent's cold start; the API server's own work is not
 * (the child renders every page before the clock starts), nor are the
 * network and the HTTP client.
 *
 * Phases:
 * 1. cold converge: N Services x E endpoints (one EndpointSlice of up to 100
 *    endpoints per 100), from the moment the first page is asked for (nodes,
 *    then services, then EndpointSlices, each page asked for once the one
 *    before it is decoded and its objects stored, as the source follows
 *    metadata.continue) to the maps complete (checked by reading them back
 *    afterwards); peak RSS (VmHWM) before and after.
 * 2. single-endpoint changes (an endpoint's readiness flips, or a pod is
 *    replaced by one at a new address), one at a time: latency from the
 *    moment the event's last byte arrives from the feed to the moment the
 *    reconciler has written the maps (decode, validate, store, hand-over,
 *    plan, reconcile); with the plan step (PlanCache.update) on its own.
 * 3. the plan step alone: the same kind of changes applied to a copy of the
 *    state with nothing else running in between (the cost target: a
 *    single-endpoint change at 10,000 Services well under 1 ms), next to a
 *    full buildPlanReport, which is what a consumer without the cache would
 *    pay per change.
 *
 * Run as root: npx tsx bench/controlplane.ts [--services 10000] [--endpoints 10]
 *   [--nodes 100] [--page-size 500] [--changes 1000] [--warmup 50] [--throttle-ms 0] [--no-validate]
 *   [--budget-s 100] [--full-sync] [--cpu-prof FILE] [--heap-prof FILE]
 * Changes go to the reconciler per service (Reconciler.updateServices with
 * PlanUpdate.services); --full-sync hands it the whole plan every time
 * instead (Reconciler.sync), for comparison.
 * --cpu-prof writes a V8 CPU profile of both phases (started after the BPF
 * object is loaded: node's own --cpu-prof sends SIGPROF, and a signal during
 * verification makes the program load fail with EAGAIN). --heap-prof writes
 * a sampling heap profile of both phases counting every allocation, also
 * those collected since (where the garbage comes from).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import os from 'node:os';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { BPFFS_MOUNT, BpfObjectFile, BpfObjects, ensureBpffs } from '../src/bpf/index.js';
import { Reconciler, type SyncResult } from '../src/reconcile/index.js';
import { cloneState } from '../src/k8s/cluster-store.js';
import { validateEndpointSlice } from '../src/k8s/manifest-validate.js';
import { LIST_PAGE_SIZE } from '../src/k8s/list.js';
import type { ClusterState, V1EndpointSlice, V1Node, V1Service } from '../src/api/types.js';
import type { StateChange } from '../src/k8s/source.js';
import { PlanCache } from '../src/plan/incremental.js';
import { SyncPipeline } from '../src/agent/sync.js';
import { FullSync } from '../src/model/full-sync.js';
import { buildPlanReport, type PlanNode } from '../src/plan/index.js';
import { LISTS, nodeAddress, nodeName, objectKey, type ClusterShape, type ListedKind } from './lib/cluster.js';
import { ClusterFeed, type Received } from './lib/feed-client.js';
import { FeedSource } from './lib/feed-source.js';
import { mib, round, summarize } from './lib/stats.js';

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
const PAGE_SIZE = arg('page-size', LIST_PAGE_SIZE);
if (!Number.isInteger(PAGE_SIZE) || PAGE_SIZE < 1) throw new Error('--page-size needs a positive integer');
const CHANGES = arg('changes', 1000);
const WARMUP = arg('warmup', 50);
const THROTTLE_MS = arg('throttle-ms', 0);
const VALIDATE = !process.argv.includes('--no-validate');
const BUDGET_MS = arg('budget-s', 100) * 1000;
const FULL_SYNC = process.argv.includes('--full-sync');
function fileArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}
const CPU_PROF = fileArg('cpu-prof');
const HEAP_PROF = fileArg('heap-prof');

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

  constructor(reconciler: Reconciler, fullSync: FullSync) {
    this.sync = new SyncPipeline(LOCAL, reconciler, fullSync, FULL_SYNC);
  }

  get tableWorker(): Promise<Error | null> {
    return this.sync.tableWorker;
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
  if (!CPU_PROF && !HEAP_PROF) return undefined;
  const session = new Session();
  session.connect();
  if (CPU_PROF) {
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 200 });
    await post(session, 'Profiler.start');
  }
  if (HEAP_PROF) {
    await post(session, 'HeapProfiler.enable');
    await post(session, 'HeapProfiler.startSampling', {
      samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
    });
  }
  return session;
}

async function stopProfile(session: Session | undefined): Promise<void> {
  if (!session) return;
  if (CPU_PROF) writeFileSync(CPU_PROF, JSON.stringify(((await post(session, 'Profiler.stop')) as { profile: unknown }).profile));
  if (HEAP_PROF) writeFileSync(HEAP_PROF, JSON.stringify(((await post(session, 'HeapProfiler.stopSampling')) as { profile: unknown }).profile));
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

/** Peak (VmHWM) and current (VmRSS) resident set of this process, bytes. */
function residentSet(): { peak: number; current: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kib('VmHWM'), current: kib('VmRSS') };
}

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0] ?? 0;
  const rssAtStart = residentSet();
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
    // The cluster lives in a child process that starts generating it now, while the datapath loads.
    const feed = new ClusterFeed(shape, PAGE_SIZE);
    cleanups.push(() => feed.close());
    ensureBpffs(root);
    let t = performance.now();
    const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
    cleanups.push(() => obj.close());
    const fullSync = new FullSync();
    const reconciler = Reconciler.open({ bpffsRoot: root, fullSync });
    cleanups.push(() => reconciler.close());
    const loadMs = performance.now() - t;

    // The API server is up: every page is rendered, none sent yet.
    await feed.ready();

    const profiler = await startProfile();
    gcObserver.observe({ entryTypes: ['gc'] });
    const source = new FeedSource({ throttleMs: THROTTLE_MS, validate: VALIDATE });
    const pipeline = new Pipeline(reconciler, fullSync);
    cleanups.push(() => void source.stop());
    // An agent's worker is up long before its first sync: its sources list first.
    const tableWorker = await pipeline.tableWorker;
    if (tableWorker) process.stderr.write(`bench/controlplane: no Maglev worker thread, tables built inline: ${tableWorker.message}\n`);
    const rssBefore = residentSet();

    // ---- 1. cold converge
    const coldDone = pipeline.next();
    t = performance.now();
    source.start(pipeline.onChange);
    const lists = await listAll(feed, source);
    const listed = performance.now();
    source.listed();
    const cold = await coldDone;
    const coldMs = cold.synced - t;
    const rssAfterCold = residentSet();
    const heapAfterCold = process.memoryUsage();
    // With node --expose-gc: what stays live after the cold converge (store + plan cache + reconciler state).
    const forceGc = (globalThis as { gc?: () => void }).gc;
    forceGc?.();
    const liveHeapAfterCold = forceGc ? process.memoryUsage().heapUsed : null;

    // Maps complete? The feed reads them back (not timed, and not in this process).
    const expectedFrontends = shape.services + (shape.nodePortEvery > 0 ? Math.ceil(shape.services / shape.nodePortEvery) : 0);
    const maps = await feed.mapCounts(root);
    const complete = maps.services === expectedFrontends && maps.backends === shape.services * shape.endpointsPerService
      && maps.maglevTables === shape.services && maps.revnat === expectedFrontends;

    // ---- 2. single-endpoint changes
    const latencies: number[] = [];
    const planMs: number[] = [];
    const reconcileMs: number[] = [];
    const applyMs: number[] = [];
    const windows: [number, number][] = [];
    const syncs: SyncResult[] = [];
    /** From the event to the hand-over: decode, validate, store, the throttle's turn of the event loop. */
    const waitMs: number[] = [];
    let done = 0;
    const changesStart = performance.now();
    for (let k = 0; k < WARMUP + CHANGES; k++) {
      if (performance.now() - changesStart > BUDGET_MS) break;
      const received = await feed.change();
      const handled = pipeline.next();
      // The event counts from the moment its last byte arrived.
      const event = received.at;
      const { object } = JSON.parse(received.bytes.toString()) as { object: V1EndpointSlice };
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
    const rssAfterChanges = residentSet();

    // The maps follow: every touched Service's frontend counts its ready endpoints.
    const follow = await feed.followCheck(root);

    // ---- 3. the plan step alone
    const planOnly = await planStepAlone(pipeline.state as ClusterState, { name: LOCAL.name, addresses: [LOCAL.address] }, feed);

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
        nodePortServices: expectedFrontends - shape.services, slices: lists.slices,
        pageSize: PAGE_SIZE, listPages: lists.pages, listMiB: mib(lists.bytes), throttleMs: THROTTLE_MS, validate: VALIDATE,
        reconcile: FULL_SYNC ? 'sync (whole plan)' : 'updateServices (changed services)',
        changes: CHANGES, warmup: WARMUP,
      },
      objectLoadMs: round(loadMs, 1),
      cold: {
        convergeMs: round(coldMs, 1),
        targetMs: 1500,
        phases: {
          /** Receiving and decoding the list pages, validating and storing every object. */
          sourceMs: round(listed - t, 1),
          /** Of which: from asking for each page to its last byte received. */
          receiveMs: round(lists.receiveMs, 1),
          decodeMs: round(lists.decodeMs, 1),
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
        mapsFollow: follow,
        slowest,
      },
      planStepAlone: planOnly,
      /** This process only: the cluster and its JSON live in the feed's child process. */
      memory: {
        /** The runtime alone: node, its loader (tsx adds ~30 MiB over compiled code), the modules. */
        rssAtStartMiB: mib(rssAtStart.current),
        /** Datapath loaded, nothing listed yet. */
        peakRssBeforeColdMiB: mib(rssBefore.peak),
        rssBeforeColdMiB: mib(rssBefore.current),
        peakRssAfterColdMiB: mib(rssAfterCold.peak),
        rssAfterColdMiB: mib(rssAfterCold.current),
        /** V8's heap then: what is used (live and not yet collected) and what it holds from the OS, and memory outside it (buffers). */
        heapAfterColdMiB: { used: mib(heapAfterCold.heapUsed), total: mib(heapAfterCold.heapTotal), external: mib(heapAfterCold.external) },
        /** The agent-side peak: VmHWM after the cold converge and the changes. */
        peakRssMiB: mib(rssAfterChanges.peak),
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

/** What listing took, added up page by page. */
interface Listed {
  pages: number;
  bytes: number;
  receiveMs: number;
  decodeMs: number;
  slices: number;
}

/**
 * Lists every resource from the feed as the Kubernetes source does
 * (src/k8s/list.ts): a page at a time, the next asked for with the previous
 * page's metadata.continue once that page is decoded, so one page body is
 * alive at a time. Each page's objects go into the source as it is decoded.
 */
async function listAll(feed: ClusterFeed, source: FeedSource): Promise<Listed> {
  const listed: Listed = { pages: 0, bytes: 0, receiveMs: 0, decodeMs: 0, slices: 0 };
  for (const [kind] of LISTS) {
    let token = '';
    do {
      const asked = performance.now();
      token = putPage(kind, await feed.listPage(kind, token), asked, source, listed);
    } while (token !== '');
  }
  return listed;
}

/**
 * Decodes one page and puts its objects into the source; returns its
 * metadata.continue ('' on the last page). Not inline in listAll: an async
 * function's suspended frame can keep a body alive.
 */
function putPage(kind: ListedKind, page: Received, asked: number, source: FeedSource, listed: Listed): string {
  const d = performance.now();
  const list = JSON.parse(page.bytes.toString()) as { metadata: { continue?: string }; items: (V1Service | V1EndpointSlice | V1Node)[] };
  listed.decodeMs += performance.now() - d;
  listed.receiveMs += page.at - asked;
  listed.pages++;
  listed.bytes += page.bytes.length;
  for (const o of list.items) source.put(kind, kind === 'nodes' ? o.metadata?.name ?? '' : objectKey(o), o);
  if (kind === 'endpointSlices') listed.slices += list.items.length;
  return list.metadata.continue ?? '';
}

/**
 * The plan step with nothing else running: a copy of the state (same
 * objects), its own PlanCache, single-endpoint changes like phase 2's
 * (fetched from the feed before each timed step).
 */
async function planStepAlone(live: ClusterState, node: PlanNode, feed: ClusterFeed) {
  const state = cloneState(live);
  const slices = state.endpointSlices as Map<string, V1EndpointSlice>;
  const t0 = performance.now();
  buildPlanReport(state, node);
  const t1 = performance.now();
  const cache = new PlanCache(node);
  cache.update(state, {});
  const t2 = performance.now();
  const times: number[] = [];
  for (let k = 0; k < WARMUP + CHANGES; k++) {
    const { object: raw } = JSON.parse((await feed.change()).bytes.toString()) as { object: V1EndpointSlice };
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
  // GC pauses reach the observer asynchronously.
  await new Promise((r) => setTimeout(r, 50));
  return {
    services: cache.size,
    coldMs: round(t2 - t1, 1),
    coldGcMs: round(gcDuring(t1, t2), 1),
    fullBuildMs: round(t1 - t0, 1),
    fullBuildGcMs: round(gcDuring(t0, t1), 1),
    changeMs: summarize(times),
    targetMs: 1,
  };
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/controlplane: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
