/** Where the socket LB attaches: the cgroup2 mount from /proc/mounts (never assumed), checked before anything is loaded. */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroup2Mount } from '../../src/bpf/cgroup.js';
import { resolveCgroupRoot } from '../../src/agent/socket-lb.js';
import { DsrlbError } from '../../src/errors.js';

/** A directory that looks like a cgroup2 directory (the two files cgroup2Mount checks for), its name with a space. */
function fakeCgroup(t: { teardown(fn: () => void): void }): string {
  const base = mkdtempSync(join(tmpdir(), 'dsrlb-cg-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const dir = join(base, 'cg two');
  mkdirSync(dir);
  for (const f of ['cgroup.procs', 'cgroup.controllers']) writeFileSync(join(dir, f), '');
  return dir;
}

test('the first reachable cgroup2 mount, with /proc/mounts escapes undone; a mount that cannot be reached is passed over', (t) => {
  const dir = fakeCgroup(t);
  const mounts = [
    'tmpfs /sys/fs/cgroup tmpfs rw 0 0',
    'cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0',
    'cgroup2 /nonexistent/unified cgroup2 rw 0 0',
    `none ${dir.replace(/ /g, '\\040')} cgroup2 rw 0 0`,
  ].join('\n');
  t.is(cgroup2Mount(mounts), dir);
  t.is(cgroup2Mount('tmpfs /sys/fs/cgroup tmpfs rw 0 0\n'), null);
  t.is(resolveCgroupRoot(undefined, mounts), dir, 'no --cgroup-root: the mount found');
});

test('--cgroup-root: none mounted, or not a cgroup2 directory, is one error with a remedy', (t) => {
  const none = t.throws(() => resolveCgroupRoot(undefined, 'proc /proc proc rw 0 0\n'), { instanceOf: DsrlbError });
  t.is(none?.code, 'ERR_NO_CGROUP2');
  t.regex(none?.remedy ?? '', /--socket-lb=false/);
  const bad = t.throws(() => resolveCgroupRoot(tmpdir()), { instanceOf: DsrlbError });
  t.is(bad?.code, 'ERR_NOT_CGROUP2');
  t.is(bad?.subject, tmpdir());
});
