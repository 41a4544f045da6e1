/**
 * cgroup v2: where the hierarchy is mounted, and programs attached to a
 * cgroup through pinned links. A pinned link outlives the process that made
 * it, is replaced in one step (the new program takes over with no moment
 * without one) and is detached on demand, whoever attached it.
 */
import { existsSync, readFileSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { call } from './errors.js';
import { native } from './native.js';
import type { BpfProgram } from './program.js';

/**
 * The first cgroup2 mount point in a /proc/mounts text that can be reached,
 * or null. Never assumed: some hosts mount it at /sys/fs/cgroup, others at
 * /sys/fs/cgroup/unified, and a mount namespace that remounted /sys still
 * lists mounts it can no longer reach.
 */
export function cgroup2Mount(mounts = readFileSync('/proc/mounts', 'utf8')): string | null {
  for (const line of mounts.split('\n')) {
    const [, mnt, type] = line.split(' ');
    // /proc/mounts escapes spaces in paths as \040.
    const path = mnt?.replace(/\\040/g, ' ');
    if (type === 'cgroup2' && path && isCgroup2Dir(path)) return path;
  }
  return null;
}

/** A cgroup's id as the kernel reports it in link info: its directory's inode number. */
export function cgroupId(path: string): bigint {
  return statSync(path, { bigint: true }).ino;
}

/** True when `path` is a directory of a cgroup2 hierarchy (it has cgroup.procs and cgroup.controllers). */
export function isCgroup2Dir(path: string): boolean {
  return existsSync(join(path, 'cgroup.procs')) && existsSync(join(path, 'cgroup.controllers'));
}

/** The directory under `root` whose cgroup id is `id` (breadth first, at most `limit` directories looked at). */
export function findCgroupById(root: string, id: bigint, limit = 10_000): string | null {
  const queue = [root];
  for (let seen = 0; queue.length > 0 && seen < limit; seen++) {
    const dir = queue.shift() as string;
    try {
      if (cgroupId(dir) === id) return dir;
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) queue.push(join(dir, e.name));
    } catch { /* removed while walking */ }
  }
  return null;
}

export interface CgroupLink {
  readonly pin: string;
  readonly linkId: number;
  readonly progId: number;
  readonly attachType: number;
  /** 0n once the link is detached (or its cgroup removed). */
  readonly cgroupId: bigint;
}

/** What attachCgroupLink did: a new link, the pinned one given the new program, or a new link in place of one on another cgroup. */
export type CgroupAttachOutcome = 'created' | 'replaced' | 'moved';

function withLink<T>(pin: string, fn: (fd: number) => T): T {
  const fd = call(pin, () => native().objGet(pin));
  try {
    return fn(fd);
  } finally {
    native().closeFd(fd);
  }
}

/** The link pinned at `pin`, or null when nothing is pinned there. */
export function pinnedCgroupLink(pin: string): CgroupLink | null {
  if (!existsSync(pin)) return null;
  return withLink(pin, (fd) => {
    const info = call(pin, () => native().linkInfo(fd));
    return { pin, linkId: info.id, progId: info.progId, attachType: info.attachType, cgroupId: info.cgroupId };
  });
}

function createPinned(pin: string, cgroupPath: string, prog: BpfProgram): void {
  const fd = call(`${prog.name} on ${cgroupPath}`, () => native().cgroupLinkCreate(cgroupPath, prog.fd, prog.attachType));
  try {
    call(pin, () => native().objPin(fd, pin));
  } catch (e) {
    native().linkDetach(fd);
    throw e;
  } finally {
    native().closeFd(fd);
  }
}

/**
 * Attaches `prog` to `cgroupPath` through the link pinned at `pin`: a link
 * already there on the same cgroup is given the new program in one step; one
 * on another cgroup is replaced by a new link (made before the old one is
 * detached).
 */
export function attachCgroupLink(pin: string, cgroupPath: string, prog: BpfProgram): CgroupAttachOutcome {
  const current = pinnedCgroupLink(pin);
  if (current && current.cgroupId === cgroupId(cgroupPath) && current.attachType === prog.attachType) {
    withLink(pin, (fd) => call(`${prog.name} on ${cgroupPath}`, () => native().linkUpdate(fd, prog.fd)));
    return 'replaced';
  }
  if (!current) {
    createPinned(pin, cgroupPath, prog);
    return 'created';
  }
  // bpffs refuses names with a dot.
  const fresh = `${pin}_new`;
  createPinned(fresh, cgroupPath, prog);
  detachCgroupLink(pin);
  withLink(fresh, (fd) => call(pin, () => native().objPin(fd, pin)));
  unlinkSync(fresh);
  return 'moved';
}

/** Detaches the link pinned at `pin` and removes the pin; false when nothing was pinned. */
export function detachCgroupLink(pin: string): boolean {
  if (!existsSync(pin)) return false;
  withLink(pin, (fd) => {
    // A link whose cgroup is gone is detached already.
    if (native().linkInfo(fd).cgroupId !== 0n) call(pin, () => native().linkDetach(fd));
  });
  unlinkSync(pin);
  return true;
}

/** This thread's network namespace cookie, as bpf_get_netns_cookie() reports it to programs. */
export function netnsCookie(): bigint {
  return call('SO_NETNS_COOKIE', () => native().netnsCookie());
}
