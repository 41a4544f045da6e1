/**
 * What the datapath benchmarks share around their measurements: they need
 * root, and whatever they set up (veths, pinned maps, loaded objects) is
 * undone in reverse order, whatever happens in between.
 */
import type { Cleanup } from '../../test/helpers/datapath.js';

/** Exits with a one-line message unless running as root. */
export function requireRootOrExit(bench: string): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write(`${bench}: needs root (BPF_PROG_RUN, bpffs, a test veth)\n`);
    process.exit(1);
  }
}

/** Runs `fn` with a Cleanup whose steps all run afterwards, last first (a failing step does not stop the rest). */
export function withCleanup<T>(fn: (cleanup: Cleanup) => T): T {
  const steps: (() => void)[] = [];
  try {
    return fn({ teardown: (step) => { steps.push(step); } });
  } finally {
    for (const step of steps.reverse()) {
      try { step(); } catch { /* best effort */ }
    }
  }
}
