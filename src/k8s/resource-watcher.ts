/**
 * One resource's informer, kept alive. It is what client-node 1.4's
 * `makeInformer` builds (a ListWatch over a Watch), built here so the Watch
 * can be guarded (guarded-watch.ts: a malformed event would otherwise crash
 * the process) and the list done as plain JSON, in pages (list.ts).
 * What client-node does and does not do (node_modules/@kubernetes/client-node/dist/cache.js, watch.js):
 * - a watch that ends cleanly is reopened at once from the last resourceVersion;
 * - 410 Gone (HTTP status or an ERROR event) clears the resourceVersion, so the
 *   reopen relists; the relist diff fires delete/add/update callbacks;
 * - any other failure (a 500, a refused connection, a failed list) fires
 *   `error` and the informer stays stopped: restarting it is ours to do, with
 *   backoff; start() resumes from the last resourceVersion (no relist);
 * - lines that are not JSON are dropped silently inside Watch (not
 *   observable here); our callbacks run inside its async handler, so they
 *   never throw;
 * - it never asks for bookmarks: our watch path carries allowWatchBookmarks,
 *   which keeps the resourceVersion fresh so a reconnect rarely needs a relist;
 * - it never notices a watch that went silent (a half-open connection): our
 *   path carries timeoutSeconds (the server then ends the watch cleanly, as
 *   client-go asks), and a watch still open well past that is aborted and
 *   restarted here.
 */
import { ListWatch, type KubeConfig } from '@kubernetes/client-node';
import { Backoff, type BackoffOptions } from './backoff.js';
import type { ResourceKind } from './cluster-store.js';
import { OwnedKubeConfig } from './connections.js';
import { GuardedWatch } from './guarded-watch.js';
import { listObjects, remedyFor, type KeyedObject } from './list.js';
import { SourceError } from './source.js';

export const RESOURCE_PATHS: Readonly<Record<ResourceKind, string>> = {
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  nodes: '/api/v1/nodes',
};

/** What the watcher feeds. None of these may throw (client-node would swallow it). */
export interface WatcherSink {
  upsert(kind: ResourceKind, obj: KeyedObject): void;
  remove(kind: ResourceKind, obj: KeyedObject): void;
  /** A list has been applied (the first one means this resource is synced). */
  listed(kind: ResourceKind): void;
  error(error: SourceError): void;
}

export interface WatcherOptions {
  readonly backoff?: Partial<BackoffOptions>;
  /** Asked of the server per watch; the server ends the watch cleanly after it (default: random 300-600 s, like client-go). */
  readonly watchTimeoutSeconds?: number;
  /** Extra time past the server's deadline before a silent watch counts as stalled (default 30 s). */
  readonly stallGraceMs?: number;
  /** Wait for a watch's response headers (default 30 s). */
  readonly headersTimeoutMs?: number;
  /** Each list page's request (default 60 s). */
  readonly listTimeoutMs?: number;
  /** Items per list page (default LIST_PAGE_SIZE, client-go's). */
  readonly listPageSize?: number;
  /** Least time between two watch requests of one resource (default 1 s). */
  readonly minWatchIntervalMs?: number;
}

export interface WatcherStats {
  /** Lists done: the first, then one per relist (410 Gone or restart after a failed list). */
  readonly lists: number;
  /** Restarts after an error. */
  readonly restarts: number;
}

export class ResourceWatcher {
  private readonly kc: OwnedKubeConfig;
  private readonly informer: ListWatch<KeyedObject>;
  private readonly backoff: Backoff;
  private readonly watchTimeoutSeconds: number;
  private readonly stallMs: number;
  private readonly healthyAfterMs: number;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private healthyTimer: NodeJS.Timeout | undefined;
  private abortingStalled = false;
  private restarting = false;
  private lists = 0;
  private restarts = 0;
  /** An error happened and nothing has gone through since. */
  failing = false;

  constructor(kubeConfig: KubeConfig, readonly kind: ResourceKind, private readonly sink: WatcherSink, options: WatcherOptions = {}) {
    const headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
    const listTimeoutMs = options.listTimeoutMs ?? 60_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? Math.floor(300 * (1 + Math.random()));
    this.stallMs = headersTimeoutMs + this.watchTimeoutSeconds * 1000 + (options.stallGraceMs ?? 30_000);
    this.healthyAfterMs = headersTimeoutMs + 1000;
    this.backoff = new Backoff(options.backoff);
    this.kc = new OwnedKubeConfig(kubeConfig, {
      headersTimeoutMs, minWatchIntervalMs: options.minWatchIntervalMs ?? 1000, onWatchRequest: () => this.armStallTimer(),
    });

    const path = `${RESOURCE_PATHS[kind]}?allowWatchBookmarks=true&timeoutSeconds=${this.watchTimeoutSeconds}`;
    const watch = new GuardedWatch(this.kc, (phase, reason) => this.sink.error(new SourceError(kind, 'invalid_object', 'ERR_K8S_INVALID_OBJECT',
      `malformed ${phase} event dropped: ${reason}`, { subject: this.kc.server })));
    this.informer = new ListWatch<KeyedObject>(path, watch, async () => {
      const list = await listObjects(this.kc, kind, RESOURCE_PATHS[kind], {
        timeoutMs: listTimeoutMs, pageSize: options.listPageSize, onUnkeyable: (e) => this.sink.error(e),
      });
      this.lists++;
      this.succeeded();
      // The informer applies the items right after this promise settles, all
      // in one go; by the next turn of the event loop they are in the store.
      setImmediate(() => { if (!this.stopped) this.sink.listed(kind); });
      return list;
    }, false);
    this.informer.on('add', (o) => this.onObject(o, false));
    this.informer.on('update', (o) => this.onObject(o, false));
    this.informer.on('delete', (o) => this.onObject(o, true));
    this.informer.on('error', (e?: unknown) => this.onError(e));
    this.informer.on('connect', () => this.onConnect());
  }

  start(): void {
    this.launch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of [this.restartTimer, this.stallTimer, this.healthyTimer]) clearTimeout(t);
    await this.informer.stop();
    this.kc.close();
  }

  get stats(): WatcherStats {
    return { lists: this.lists, restarts: this.restarts };
  }

  /** The resourceVersion the next watch resumes from ('' = it will relist). */
  get resourceVersion(): string {
    return this.informer.latestResourceVersion();
  }

  private launch(): void {
    if (this.stopped) return;
    this.restarting = true;
    this.informer.start().catch((e: unknown) => this.onError(e));
  }

  private onObject(obj: KeyedObject, deleted: boolean): void {
    if (this.stopped) return;
    try {
      this.succeeded();
      if (deleted) this.sink.remove(this.kind, obj);
      else this.sink.upsert(this.kind, obj);
    } catch (e) {
      this.sink.error(new SourceError(this.kind, 'invalid_object', 'ERR_K8S_INVALID_OBJECT', `cannot apply an object: ${message(e)}`, { cause: e }));
    }
  }

  private onConnect(): void {
    if (this.stopped) return;
    // A (re)connect that we did not cause follows a watch that ended cleanly.
    if (!this.restarting) this.succeeded();
    this.restarting = false;
    clearTimeout(this.stallTimer);
  }

  private onError(err: unknown): void {
    if (this.stopped) return;
    clearTimeout(this.stallTimer);
    clearTimeout(this.healthyTimer);
    if (this.abortingStalled) {
      this.abortingStalled = false; // already reported when the stall was noticed
    } else {
      this.sink.error(toSourceError(this.kind, err, this.kc.server));
    }
    this.failing = true;
    if (this.restartTimer !== undefined) return;
    const delay = this.backoff.next();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.restarts++;
      // No error within the headers timeout after a restart: the watch is up.
      this.healthyTimer = setTimeout(() => this.succeeded(), this.healthyAfterMs);
      this.launch();
    }, delay);
  }

  /** Watch requests start here (OwnedKubeConfig): from now the watch has a deadline. */
  private armStallTimer(): void {
    clearTimeout(this.stallTimer);
    if (this.stopped) return;
    this.stallTimer = setTimeout(() => {
      if (this.stopped) return;
      this.sink.error(new SourceError(this.kind, 'watch_stalled', 'ERR_K8S_WATCH_STALLED',
        `watch silent and still open ${Math.round(this.stallMs / 1000)} s after it started (asked to end after ${this.watchTimeoutSeconds} s): restarting it`, {
          subject: this.kc.server, remedy: 'check the network path to the API server',
        }));
      this.abortingStalled = true;
      // Aborting fires the informer's error callback, which restarts it.
      void this.informer.stop();
    }, this.stallMs);
  }

  private succeeded(): void {
    clearTimeout(this.healthyTimer);
    this.failing = false;
    this.backoff.reset();
  }
}

function toSourceError(kind: ResourceKind, err: unknown, server: string): SourceError {
  if (err instanceof SourceError) return err;
  const statusCode = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  const code = typeof statusCode === 'number' ? statusCode : undefined;
  const what = code !== undefined ? `HTTP ${code}` : message(err);
  return new SourceError(kind, 'watch', 'ERR_K8S_WATCH', `watch failed: ${what}`, {
    subject: server,
    remedy: code !== undefined ? remedyFor(code) : 'check that the API server is reachable (--api-server, KUBERNETES_SERVICE_HOST); retrying with backoff',
    cause: err,
    context: { statusCode: code },
  });
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
