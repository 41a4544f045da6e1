/**
 * What the agent consumes: a Source keeps a ClusterState and hands it over
 * when it changes (docs/design.md §3: sources -> cache -> plan). Two kinds exist:
 * the API server's informers (informers.ts) and a manifests directory
 * (manifest-source.ts). Both keep the last good state through failures: a
 * source never hands over an emptier state because something broke.
 */
import { DsrlbError, type ErrorDetails } from '../errors.js';
import type { ChangedKeys, ResourceKind } from './cluster-store.js';
import type { ClusterState } from '../api/types.js';

export interface StateChange {
  /** 'initial' once per start, after every collection has been read once. */
  readonly reason: 'initial' | 'update';
  /** Keys added, modified or removed since the previous hand-over. */
  readonly changed: ChangedKeys;
  /** performance.now() when the oldest change in this batch arrived (event-to-map latency). */
  readonly since: number;
}

/**
 * `state` is a live read-only view: it never changes during a synchronous
 * call, but does change after the handler returns or awaits; copy it
 * (cloneState) to keep it. A returned promise is awaited before the next
 * hand-over, and changes arriving meanwhile go out together afterwards.
 */
export type ChangeHandler = (state: ClusterState, change: StateChange) => void | Promise<void>;

/** What a source reports errors about. */
export type ErrorResource = ResourceKind | 'manifests' | 'consumer';

/** Stable error kinds, a metrics label. */
export const SOURCE_ERROR_KINDS = [
  'list', // a list request failed
  'watch', // a watch failed or could not start
  'watch_stalled', // a watch went silent past its deadline and was restarted
  'invalid_object', // an object was malformed or invalid: skipped, last good version kept
  'parse', // a manifest file did not parse
  'read', // a manifest file or the directory could not be read
  'limit', // a manifest file over --manifests-max-file-bytes or --manifests-max-objects: refused
  'handler', // the change handler threw
] as const;
export type SourceErrorKind = typeof SOURCE_ERROR_KINDS[number];

export class SourceError extends DsrlbError {
  constructor(
    readonly resource: ErrorResource,
    readonly kind: SourceErrorKind,
    code: string,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(code, message, { ...details, context: { resource, kind, ...details.context } });
    this.name = 'SourceError';
  }
}

export interface SourceStatus {
  /** Every collection has been read at least once. */
  readonly synced: boolean;
  /** What is failing right now (resources in backoff, files that do not parse). */
  readonly failing: readonly string[];
  /** Date.now() when the source last finished reading everything (API: a list, once all have listed; manifests: a pass over the directory). */
  readonly lastCompleteReadAt?: number;
}

export interface ErrorCount {
  readonly resource: ErrorResource;
  readonly kind: SourceErrorKind;
  readonly count: number;
}

export interface Source {
  /** Starts reading; `onChange` gets the first state once every collection has been read. */
  start(onChange: ChangeHandler): void;
  /** Stops reading and closes every connection, watcher and timer. The last state stays valid. */
  stop(): Promise<void>;
  /** Hands pending changes over now instead of waiting for the throttle; true if it did. */
  flush(): boolean;
  /** Resolves once the first state has been handed over; rejects on timeout or stop. */
  whenSynced(timeoutMs?: number): Promise<void>;
  /** Every error is also counted (errorCounts); the listener is for logging. Returns an unsubscribe. */
  onError(listener: (error: SourceError) => void): () => void;
  status(): SourceStatus;
  errorCounts(): readonly ErrorCount[];
}

/** Options every source takes. */
export interface SourceOptions {
  /**
   * Minimum time between two hand-overs, ms (default 50). A change after a
   * quiet period goes out at once; bursts are coalesced. 0 = every turn of the
   * event loop.
   */
  readonly throttleMs?: number;
}

export const DEFAULT_THROTTLE_MS = 50;
