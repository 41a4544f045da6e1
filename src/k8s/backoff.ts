/**
 * Capped exponential backoff with jitter, for reconnecting to the API server.
 * Jitter only shortens a delay (never past the cap) so that every node's agent
 * does not come back to a recovering API server in the same instant.
 */
export interface BackoffOptions {
  /** First delay (default 800 ms, client-go's reflector value). */
  readonly initialMs: number;
  /** Cap (default 30 s). */
  readonly maxMs: number;
  readonly factor: number;
  /** Fraction of a delay that is random: the delay is in [d*(1-jitter), d]. */
  readonly jitter: number;
  /** A failure this long after the previous one starts again from initialMs. */
  readonly resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000, factor: 2, jitter: 0.5, resetAfterMs: 120_000 };

export class Backoff {
  private attempt = 0;
  private lastFailureAt = -Infinity;
  readonly options: BackoffOptions;

  constructor(options: Partial<BackoffOptions> = {}, private readonly random: () => number = Math.random) {
    this.options = { ...DEFAULT_BACKOFF, ...options };
  }

  /** The delay before the next try after a failure now. */
  next(now = performance.now()): number {
    const o = this.options;
    if (now - this.lastFailureAt >= o.resetAfterMs) this.attempt = 0;
    this.lastFailureAt = now;
    const base = Math.min(o.maxMs, o.initialMs * o.factor ** this.attempt);
    this.attempt++;
    return Math.max(0, Math.round(base * (1 - o.jitter * this.random())));
  }

  /** Call on evidence of health (a list or an event went through). */
  reset(): void {
    this.attempt = 0;
    this.lastFailureAt = -Infinity;
  }

  get failures(): number {
    return this.attempt;
  }
}
