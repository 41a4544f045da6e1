/**
 * What /healthz, `lbctl status` and dsrlb_source_connected say about the
 * source: connected (or, for a manifests directory, watching), connecting
 * before it was ever read completely, or retrying since the first error of
 * the current failure, with the last error and when everything was last read.
 */
import type { SourceError, SourceStatus } from '../k8s/source.js';

export type SourceStateName = 'connecting' | 'connected' | 'watching' | 'retrying';

export interface SourceReport {
  readonly kind: 'kubernetes' | 'manifests';
  /** The API server's URL, or the directory. */
  readonly description: string;
  readonly state: SourceStateName;
  /** ISO time the current failure started (state retrying), else null. */
  readonly retryingSince: string | null;
  /** What is failing now: resources in backoff, directories or files that do not read or parse. */
  readonly failing: readonly string[];
  /** The latest error (kept after recovery, with its time, as history). */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  /** ISO time the source last finished reading everything (API: a list; manifests: a pass over the directory). */
  readonly lastCompleteReadAt: string | null;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export class SourceState {
  private lastError: { line: string; at: number } | undefined;
  private failingSince: number | undefined;

  constructor(private readonly kind: SourceReport['kind'], private readonly description: string,
    private readonly status: () => SourceStatus, private readonly now: () => number = Date.now) {}

  onError(e: SourceError): void {
    const at = this.now();
    this.lastError = { line: e.toLine(), at };
    // Nothing failing yet (the source marks what fails after reporting it): a new failure starts now.
    if (this.status().failing.length === 0) this.failingSince = at;
    else this.failingSince ??= at;
  }

  /** Read and computed in one go, so state and time agree. */
  report(): SourceReport {
    const s = this.status();
    const failing = s.failing.length > 0;
    // Recovered: the next error starts a new failure.
    if (!failing) this.failingSince = undefined;
    const ok: SourceStateName = this.kind === 'kubernetes' ? 'connected' : 'watching';
    return {
      kind: this.kind,
      description: this.description,
      state: failing ? 'retrying' : s.synced ? ok : 'connecting',
      retryingSince: failing ? iso(this.failingSince ?? this.now()) : null,
      failing: s.failing,
      lastError: this.lastError?.line ?? null,
      lastErrorAt: iso(this.lastError?.at),
      lastCompleteReadAt: iso(s.lastCompleteReadAt),
    };
  }

  /** True while the source has been read completely and nothing fails. */
  connected(): boolean {
    const state = this.report().state;
    return state === 'connected' || state === 'watching';
  }
}
