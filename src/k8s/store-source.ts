/**
 * The part every Source shares: the store, the throttled hand-over, the synced
 * gate, error counting. Subclasses only read their inputs and apply them to
 * `store`, then call `changed()`.
 */
import { ClusterStore } from './cluster-store.js';
import {
  DEFAULT_THROTTLE_MS, SourceError, type ChangeHandler, type ErrorCount, type ErrorResource, type Source,
  type SourceErrorKind, type SourceOptions, type SourceStatus,
} from './source.js';
import { Throttle } from './throttle.js';

type Phase = 'new' | 'running' | 'stopped';

export abstract class StoreSource implements Source {
  protected readonly store = new ClusterStore();
  private readonly throttle: Throttle;
  private handler: ChangeHandler | undefined;
  private phase: Phase = 'new';
  private synced = false;
  private handedOver = false;
  private lastCompleteReadAt: number | undefined;
  private busy = false;
  private readonly errorListeners = new Set<(e: SourceError) => void>();
  private readonly syncWaiters = new Set<{ resolve: () => void; reject: (e: Error) => void }>();
  private readonly counts = new Map<string, { resource: ErrorResource; kind: SourceErrorKind; count: number }>();

  constructor(options: SourceOptions = {}) {
    this.throttle = new Throttle(options.throttleMs ?? DEFAULT_THROTTLE_MS, () => this.handOver());
  }

  start(onChange: ChangeHandler): void {
    if (this.phase !== 'new') throw new Error('a source starts once');
    this.phase = 'running';
    this.handler = onChange;
    this.begin();
  }

  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.throttle.stop();
    for (const w of this.syncWaiters) w.reject(new Error('source stopped before it synced'));
    this.syncWaiters.clear();
    await this.end();
  }

  flush(): boolean {
    if (!this.synced || this.busy || this.phase !== 'running') return false;
    if (this.throttle.flush()) return true;
    if (!this.store.pending) return false;
    this.handOver();
    return true;
  }

  whenSynced(timeoutMs?: number): Promise<void> {
    if (this.handedOver) return Promise.resolve();
    if (this.phase === 'stopped') return Promise.reject(new Error('source stopped'));
    return new Promise<void>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined
        : setTimeout(() => { this.syncWaiters.delete(w); reject(new Error(`source not synced after ${timeoutMs} ms`)); }, timeoutMs);
      const w = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (e: Error) => { clearTimeout(timer); reject(e); },
      };
      this.syncWaiters.add(w);
    });
  }

  onError(listener: (error: SourceError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  status(): SourceStatus {
    return { synced: this.synced, failing: this.failing(), ...(this.lastCompleteReadAt !== undefined ? { lastCompleteReadAt: this.lastCompleteReadAt } : {}) };
  }

  errorCounts(): readonly ErrorCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  protected get running(): boolean {
    return this.phase === 'running';
  }

  /** Begins reading inputs (called once, from start). */
  protected abstract begin(): void;
  /** Releases everything begin() acquired. */
  protected abstract end(): Promise<void>;
  /** What is failing right now, for status(). */
  protected abstract failing(): readonly string[];

  /** The store changed: schedule a hand-over. */
  protected changed(): void {
    if (this.synced && this.phase === 'running') this.throttle.poke();
  }

  /** Every collection has been read: the first hand-over may go out. */
  protected markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.throttle.poke();
  }

  /** Everything has just been read (a list, a pass over the directory): status() says when. */
  protected markRead(): void {
    this.lastCompleteReadAt = Date.now();
  }

  protected report(error: SourceError): void {
    const id = `${error.resource}\u0000${error.kind}`;
    const c = this.counts.get(id);
    if (c) c.count++;
    else this.counts.set(id, { resource: error.resource, kind: error.kind, count: 1 });
    for (const l of this.errorListeners) l(error);
  }

  private handOver(): void {
    if (!this.synced || this.phase !== 'running' || !this.handler) return;
    if (this.busy) return; // resumed when the running handler settles
    if (this.handedOver && !this.store.pending) return;
    const since = this.store.pendingSince ?? performance.now();
    const change = { reason: this.handedOver ? 'update' as const : 'initial' as const, changed: this.store.takeChanges(), since };
    const first = !this.handedOver;
    this.handedOver = true;
    let result: void | Promise<void> = undefined;
    try {
      result = this.handler(this.store.state, change);
    } catch (e) {
      this.report(handlerError(e));
    }
    if (first) {
      for (const w of this.syncWaiters) w.resolve();
      this.syncWaiters.clear();
    }
    if (result instanceof Promise) {
      this.busy = true;
      result.catch((e: unknown) => this.report(handlerError(e))).finally(() => {
        this.busy = false;
        if (this.store.pending) this.throttle.poke();
      });
    }
  }
}

function handlerError(e: unknown): SourceError {
  return new SourceError('consumer', 'handler', 'ERR_SOURCE_HANDLER', `the change handler failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}
