/** A private bpffs directory per test, removed when the test ends. */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './datapath.js';
import { BPFFS_MOUNT, ensureBpffs } from '../../src/bpf/pins.js';

export function tempPinRoot(t: Cleanup): string {
  const root = join(BPFFS_MOUNT, `dsrlb-test-${randomBytes(4).toString('hex')}`);
  ensureBpffs(root);
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}
