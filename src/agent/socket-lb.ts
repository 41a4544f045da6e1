/**
 * Socket LB (docs/datapath.md): the cgroup sock_addr programs of
 * bpf/sock_lb.c on --cgroup-root, loaded with the agent's pinned maps so the
 * plan the reconciler writes programs them too. Attached through links pinned
 * under <bpffs root>/links, so a restart replaces the programs in place and
 * `cleanup` or `--socket-lb=false` finds and detaches them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import {
  attachCgroupLink, BpfObjectFile, BpfObjects, cgroup2Mount, detachCgroupLink, findCgroupById, isCgroup2Dir, netnsCookie,
  pinnedCgroupLink, type CgroupAttachOutcome,
} from '../bpf/index.js';
import { DsrlbError } from '../errors.js';
import type { AgentConfig } from './config.js';

export const SOCKET_LB_PROGRAMS = ['sock_connect4', 'sock_sendmsg4', 'sock_recvmsg4', 'sock_getpeername4'] as const;
export type SocketLbProgram = typeof SOCKET_LB_PROGRAMS[number];

function linkDir(bpffsRoot: string): string {
  return join(bpffsRoot, 'links');
}

function linkPin(bpffsRoot: string, program: SocketLbProgram): string {
  return join(linkDir(bpffsRoot), program);
}

/** --cgroup-root, or the cgroup2 mount from /proc/mounts; checked before anything is loaded. */
export function resolveCgroupRoot(flag: string | undefined, mounts?: string): string {
  const root = flag ?? cgroup2Mount(mounts);
  if (root === null) {
    throw new DsrlbError('ERR_NO_CGROUP2', 'no cgroup2 hierarchy is mounted', {
      subject: '--cgroup-root', remedy: 'mount one (mount -t cgroup2 none /sys/fs/cgroup), pass --cgroup-root, or --socket-lb=false',
    });
  }
  if (!isCgroup2Dir(root)) {
    throw new DsrlbError('ERR_NOT_CGROUP2', 'not a cgroup v2 directory', {
      subject: root, remedy: 'pass --cgroup-root a directory of the cgroup2 hierarchy (see `grep cgroup2 /proc/mounts`)',
    });
  }
  return root;
}

/** Program -> what attaching did. */
export type SocketLbAttachment = Readonly<Record<SocketLbProgram, CgroupAttachOutcome>>;

/** Loads bpf/sock_lb.c with the maps pinned under `bpffsRoot` and attaches all four programs to `cgroupRoot`. */
export function attachSocketLb(bpffsRoot: string, cgroupRoot: string): SocketLbAttachment {
  const obj = BpfObjectFile.load(BpfObjects.sockLb, { pinRoot: bpffsRoot });
  try {
    mkdirSync(linkDir(bpffsRoot), { recursive: true });
    const out: Partial<Record<SocketLbProgram, CgroupAttachOutcome>> = {};
    for (const name of SOCKET_LB_PROGRAMS) out[name] = attachCgroupLink(linkPin(bpffsRoot, name), cgroupRoot, obj.program(name));
    return out as SocketLbAttachment;
  } finally {
    // The pinned links hold the programs.
    obj.close();
  }
}

/** Detaches whatever socket LB programs are pinned under `bpffsRoot`; returns their names. */
export function detachSocketLb(bpffsRoot: string): SocketLbProgram[] {
  return SOCKET_LB_PROGRAMS.filter((name) => detachCgroupLink(linkPin(bpffsRoot, name)));
}

export interface SocketLbStatus {
  readonly attached: boolean;
  /** The cgroup the programs are attached to (null: none, or not found under the cgroup2 mount). */
  readonly cgroup: string | null;
  readonly programs: readonly SocketLbProgram[];
}

/** Which socket LB programs are attached (per their pinned links) and where. */
export function socketLbStatus(bpffsRoot: string): SocketLbStatus {
  const links = SOCKET_LB_PROGRAMS.flatMap((name) => {
    const l = pinnedCgroupLink(linkPin(bpffsRoot, name));
    return l && l.cgroupId !== 0n ? [{ name, cgroupId: l.cgroupId }] : [];
  });
  const first = links[0];
  const mount = cgroup2Mount();
  return {
    attached: links.length > 0,
    cgroup: first && mount !== null ? findCgroupById(mount, first.cgroupId) : null,
    programs: links.map((l) => l.name),
  };
}

/** What the agent is to do with the socket LB, worked out (and checked) before anything is loaded. */
export interface SocketLbTarget {
  /** null: --socket-lb=false. */
  readonly cgroupRoot: string | null;
  /** config.sock_netns_cookie: the agent's network namespace with --socket-lb-host-namespace-only, else 0n. */
  readonly netnsCookie: bigint;
}

export function socketLbTarget(c: Pick<AgentConfig, 'socketLb' | 'cgroupRoot' | 'socketLbHostNamespaceOnly'>): SocketLbTarget {
  if (!c.socketLb) return { cgroupRoot: null, netnsCookie: 0n };
  return { cgroupRoot: resolveCgroupRoot(c.cgroupRoot), netnsCookie: c.socketLbHostNamespaceOnly ? netnsCookie() : 0n };
}

/** Attaches the socket LB where `target` says, or detaches what a previous run attached when it is off. */
export function startSocketLb(bpffsRoot: string, target: SocketLbTarget, log: Logger): void {
  if (target.cgroupRoot === null) {
    const detached = detachSocketLb(bpffsRoot);
    if (detached.length > 0) log.info({ programs: detached }, 'socket LB off (--socket-lb=false): detached what a previous run attached');
    return;
  }
  const programs = attachSocketLb(bpffsRoot, target.cgroupRoot);
  log.info({ cgroupRoot: target.cgroupRoot, programs, hostNamespaceOnly: target.netnsCookie !== 0n }, 'socket LB attached');
}
