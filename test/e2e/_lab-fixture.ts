/**
 * One lab shared by the serial tests of a file: up in `before` (root
 * required, never skipped), down in `after.always` — keeping the logs in
 * /tmp/dsrlb-lab-<id>/logs when a test failed (`lbctl lab down` removes
 * them later).
 */
import type { TestFn } from 'ava';
import { Lab, type LabUpOptions } from '../../src/lab/lab.js';
import { requireRoot } from '../helpers/root.js';

export function sharedLab(test: TestFn, opts: LabUpOptions): () => Lab {
  let lab: Lab | undefined;
  let failed = false;
  test.before(async (t) => {
    requireRoot(t);
    if (process.getuid?.() !== 0) return;
    const lines: string[] = [];
    try {
      lab = await Lab.up({ ...opts, progress: (l) => lines.push(l) });
    } finally {
      t.log(lines.join('\n'));
    }
  });
  test.afterEach.always((t) => {
    if (!t.passed) failed = true;
  });
  test.after.always((t) => {
    if (lab && failed) t.log(`logs kept in ${lab.topo.workDir}/logs`);
    lab?.down({ keepLogs: failed });
  });
  return () => {
    if (!lab) throw new Error('the lab is not up (see the before hook)');
    return lab;
  };
}

/** Values counted per key. */
export function tally<T>(items: readonly T[], key: (x: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}
