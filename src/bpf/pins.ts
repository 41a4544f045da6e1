/** bpffs: mounting it when missing, opening pinned maps by name. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DsrlbError } from '../errors.js';
import type { Codec } from './codec.js';
import { call } from './errors.js';
import { BpfMap } from './map.js';
import { native } from './native.js';

export const BPFFS_MOUNT = '/sys/fs/bpf';
export const DEFAULT_BPFFS_ROOT = '/sys/fs/bpf/dsrlb';

function bpffsMounted(): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => {
    const [, mnt, type] = l.split(' ');
    return mnt === BPFFS_MOUNT && type === 'bpf';
  });
}

/**
 * Mounts bpffs at /sys/fs/bpf when missing (a fresh machine here has none)
 * and creates `root`. Returns true when it had to mount: then pins live in
 * this mount namespace only (e.g. under `ip netns exec`, which remounts /sys).
 */
export function ensureBpffs(root: string): boolean {
  const mounted = !bpffsMounted();
  if (mounted) {
    try {
      mkdirSync(BPFFS_MOUNT, { recursive: true });
      execFileSync('mount', ['-t', 'bpf', 'bpf', BPFFS_MOUNT], { stdio: 'pipe' });
    } catch (e) {
      throw new DsrlbError('ERR_BPFFS_MOUNT', 'cannot mount bpffs', {
        subject: BPFFS_MOUNT, remedy: 'run as root, or mount it: mount -t bpf bpf /sys/fs/bpf', cause: e,
      });
    }
  }
  mkdirSync(root, { recursive: true });
  return mounted;
}

/** Opens a map pinned at `<root>/<name>` (the reader side: lbctl, tests). */
export function openPinnedMap<K, V>(root: string, name: string, key: Codec<K>, value: Codec<V>): BpfMap<K, V> {
  const path = join(root, name);
  if (!existsSync(path)) {
    throw new DsrlbError('ERR_NOT_PINNED', `map ${name} is not pinned`, {
      subject: path, remedy: 'is the agent running, and is --bpffs-root the one it uses?',
    });
  }
  const fd = call(path, () => native().objGet(path));
  try {
    return new BpfMap(fd, key, value, true, name);
  } catch (e) {
    native().closeFd(fd);
    throw e;
  }
}
