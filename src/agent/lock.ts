/**
 * One agent per bpffs root: an exclusive flock on the root directory, held
 * for the process's life (the kernel drops it when the process ends, however
 * it ends, so no stale lock file). A second agent is refused with the
 * holder's pid, read from /proc/locks.
 */
import { readFileSync, statSync } from 'node:fs';
import { native } from '../bpf/index.js';
import { DsrlbError } from '../errors.js';

export interface RootLock {
  release(): void;
}

/** The pid /proc/locks names for a FLOCK on this inode, or null (not visible from this pid namespace). */
export function flockHolder(locksText: string, dev: { major: number; minor: number }, ino: bigint): number | null {
  for (const line of locksText.split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 00:2a:5678 0 EOF"
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'FLOCK' || f[2] === '->') continue;
    const [maj, min, inode] = (f[5] ?? '').split(':');
    if (maj === undefined || min === undefined || inode === undefined) continue;
    if (parseInt(maj, 16) === dev.major && parseInt(min, 16) === dev.minor && BigInt(inode) === ino) {
      const pid = Number(f[4]);
      return pid > 0 ? pid : null;
    }
  }
  return null;
}

/** Linux's dev_t encoding (new_decode_dev). */
function splitDev(dev: bigint): { major: number; minor: number } {
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

export function lockRoot(root: string): RootLock {
  const fd = native().lockDir(root);
  if (fd < 0) {
    const st = statSync(root, { bigint: true });
    let pid: number | null = null;
    try {
      pid = flockHolder(readFileSync('/proc/locks', 'utf8'), splitDev(st.dev), st.ino);
    } catch { /* no /proc/locks: say so without a pid */ }
    throw new DsrlbError('ERR_LOCKED', `another dsrlb-agent (pid ${pid ?? 'unknown'}) already runs on this bpffs root`, {
      subject: root, remedy: 'stop that agent first, or give this one its own --bpffs-root',
    });
  }
  let held = true;
  return {
    release: () => {
      if (held) native().closeFd(fd);
      held = false;
    },
  };
}
