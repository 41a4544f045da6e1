/** A cgroup2 directory of a test's own, removed at teardown (never the machine's root: the socket LB balances everything below where it is attached). */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mount } from '../../src/bpf/cgroup.js';
import type { Cleanup } from './datapath.js';

export function testCgroup(t: Cleanup): string {
  const mount = cgroup2Mount();
  if (mount === null) throw new Error('no cgroup2 hierarchy is mounted');
  const dir = join(mount, `dsrlb-test-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir);
  // Attached programs do not keep a cgroup: it goes once no process is left in it.
  t.teardown(() => { try { rmdirSync(dir); } catch { /* a process still inside: left for the next run's cleanup */ } });
  return dir;
}
