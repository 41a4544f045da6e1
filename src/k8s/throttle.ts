/**
 * Runs a job at most once per interval, leading edge included: a single change
 * after a quiet period goes out on the next turn of the event loop (latency is
 * what matters then), while a burst is coalesced into one run per interval.
 * "Next turn" (setImmediate) also folds together every event a single network
 * chunk delivered, e.g. a relist's thousands of callbacks.
 */
export class Throttle {
  private timer: { readonly cancel: () => void } | undefined;
  private lastRunAt = -Infinity;
  private stopped = false;

  constructor(private readonly intervalMs: number, private readonly job: () => void) {
    if (!(intervalMs >= 0)) throw new RangeError(`throttle interval must be >= 0, got ${intervalMs}`);
  }

  /** Something changed: make sure the job runs soon. */
  poke(): void {
    if (this.timer !== undefined || this.stopped) return;
    const wait = this.lastRunAt + this.intervalMs - performance.now();
    if (wait <= 0) {
      const h = setImmediate(() => this.run());
      this.timer = { cancel: () => clearImmediate(h) };
    } else {
      const h = setTimeout(() => this.run(), Math.ceil(wait));
      this.timer = { cancel: () => clearTimeout(h) };
    }
  }

  /** Runs the job now if a run is pending. */
  flush(): boolean {
    if (this.timer === undefined) return false;
    this.cancel();
    this.run();
    return true;
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }

  private cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private run(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.lastRunAt = performance.now();
    this.job();
  }
}
