/** Running commands for the lab: in this namespace or inside a lab namespace. */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { DsrlbError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** Where processes started with `hostBpffs` (agents) see the cgroup2 hierarchy. */
export const AGENT_CGROUP_MOUNT = '/sys/fs/cgroup';

export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim() ?? '';
    throw new DsrlbError('ERR_LAB_COMMAND', `${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: e });
  }
}

/** Runs inside a network namespace. */
export function nsRun(ns: string, cmd: string, args: readonly string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export async function nsRunAsync(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return runAsync('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs, `in ${ns}: ${cmd} ${args.join(' ')}`);
}

/** Runs `cmd` (`what` names it in the error), bounded by `timeoutMs`. */
export async function runAsync(cmd: string, args: readonly string[], timeoutMs = 60_000, what = `${cmd} ${args.join(' ')}`): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; killed?: boolean; signal?: string };
    const stderr = err.stderr?.trim() ?? '';
    const why = err.killed ? ` (killed by ${err.signal ?? 'a signal'} after ${timeoutMs} ms)` : '';
    throw new DsrlbError('ERR_LAB_COMMAND', `${what} failed${why}${stderr ? `: ${stderr}` : ''}`, { cause: e });
  }
}

/**
 * The command line that runs `argv` inside network namespace `ns`.
 *
 * `ip netns exec` gives the process a private mount namespace with a fresh
 * /sys (so /sys/class/net lists the namespace's devices), which also hides
 * the host's bpffs at /sys/fs/bpf: pins made there would live in a private
 * bpffs and vanish with the process. With `hostBpffs`, the same is done by
 * hand but the host's bpffs is carried over (bind-mounted aside through
 * `stash`, an empty directory, then back onto /sys/fs/bpf), so an agent's
 * pins outlive it and `lbctl bpf ... --bpffs-root` on the host reads them.
 * The fresh /sys hides the cgroup2 hierarchy too: it is mounted again at
 * AGENT_CGROUP_MOUNT (the same hierarchy, wherever the host has it), where
 * the agent's socket LB finds its --cgroup-root.
 * Nothing is mounted in the host's mount namespace (propagation is slave).
 */
export function inNamespace(ns: string, argv: readonly string[], hostBpffs?: { stash: string }): [string, string[]] {
  if (!hostBpffs) return ['ip', ['netns', 'exec', ns, ...argv]];
  const script = 'mount --bind /sys/fs/bpf "$0" && mount -t sysfs sysfs /sys && mount --bind "$0" /sys/fs/bpf && umount "$0"'
    + ` && mount -t cgroup2 cgroup2 ${AGENT_CGROUP_MOUNT} && exec "$@"`;
  return ['nsenter', [`--net=/run/netns/${ns}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', script, hostBpffs.stash, ...argv]];
}

/**
 * `argv` as a member of cgroup v2 directory `dir`: the shell moves itself in,
 * then execs, so the program runs in that cgroup from its first instruction.
 * Wrap `ip netns exec` rather than the other way round: it mounts a fresh
 * /sys, which hides the cgroup2 mount.
 */
export function inCgroup(dir: string, argv: readonly string[]): [string, string[]] {
  return ['sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, ...argv]];
}

