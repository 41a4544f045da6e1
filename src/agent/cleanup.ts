/**
 * `dsrlb-agent cleanup`: detaches dsrlb's programs from every device of this
 * network namespace and the socket LB from its cgroup, removes the
 * neighbour entries the agent added (by their protocol, neighbours.ts) and
 * the pinned maps, links and their directories. It finds the device programs
 * by name in the kernel and the socket LB by its pinned links, so it needs no
 * state from the agent that attached them.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { detachTc, detachXdp } from '../bpf/index.js';
import { dsrlbAttachments } from './attachments.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath-loader.js';
import { lockRoot } from './lock.js';
import { removeOurNeighbours, type NextHop } from './neighbours.js';
import { detachSocketLb, socketLbStatus } from './socket-lb.js';

export interface CleanupReport {
  /** Devices whose dsrlb XDP program was detached, with its mode. */
  readonly xdpDetached: readonly { readonly device: string; readonly mode: string }[];
  /** Devices whose dsrlb tc egress program was detached. */
  readonly tcDetached: readonly string[];
  /** Socket-LB programs detached, and the cgroup they were on (null: not found under the cgroup2 mount). */
  readonly socketLb: { readonly programs: readonly string[]; readonly cgroup: string | null };
  readonly neighboursRemoved: readonly NextHop[];
  /** Pinned maps and links removed (paths). */
  readonly unpinned: readonly string[];
  /** Directories removed, deepest first (the bpffs root last). */
  readonly directoriesRemoved: readonly string[];
}

/** Refused (ERR_LOCKED, naming the pid) while an agent runs on `bpffsRoot`: it would keep writing maps nothing reads. */
export function cleanup(bpffsRoot: string): CleanupReport {
  const lock = existsSync(bpffsRoot) ? lockRoot(bpffsRoot) : undefined;
  try {
    return detachAndUnpin(bpffsRoot);
  } finally {
    lock?.release();
  }
}

function detachAndUnpin(bpffsRoot: string): CleanupReport {
  const xdpDetached: { device: string; mode: string }[] = [];
  const tcDetached: string[] = [];
  const cgroup = socketLbStatus(bpffsRoot).cgroup;
  const programs = detachSocketLb(bpffsRoot);
  const socketLb = { programs, cgroup: programs.length ? cgroup : null };
  for (const a of dsrlbAttachments()) {
    if (a.xdp === 'native' || a.xdp === 'generic') {
      detachXdp(a.ifindex, a.xdp);
      xdpDetached.push({ device: a.device, mode: a.xdp });
    }
    if (a.tcEgress) {
      detachTc(a.ifindex, 'egress', TC_HANDLE, TC_PRIORITY);
      tcDetached.push(a.device);
    }
  }
  const neighboursRemoved = removeOurNeighbours();
  const { files, dirs } = existsSync(bpffsRoot) ? walk(bpffsRoot) : { files: [], dirs: [] };
  if (existsSync(bpffsRoot)) rmSync(bpffsRoot, { recursive: true });
  return { xdpDetached, tcDetached, socketLb, neighboursRemoved, unpinned: files, directoriesRemoved: dirs };
}

/** Every file under `dir`, and every directory deepest first, `dir` last. */
function walk(dir: string): { files: string[]; dirs: string[] } {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = walk(path);
      files.push(...sub.files);
      dirs.push(...sub.dirs);
    } else {
      files.push(path);
    }
  }
  dirs.push(dir);
  return { files, dirs };
}

/** The report for people: one line per thing removed, or one line saying there was nothing. */
export function cleanupText(r: CleanupReport, bpffsRoot: string): string {
  const lines = [
    ...r.xdpDetached.map((x) => `detached XDP program xdp_lb (${x.mode}) from ${x.device}`),
    ...r.tcDetached.map((d) => `detached tc egress program tc_revnat from ${d}`),
    ...r.socketLb.programs.map((p) => `detached socket-LB program ${p} from cgroup ${r.socketLb.cgroup ?? '(not under the cgroup2 mount)'}`),
    ...r.neighboursRemoved.map((n) => `removed neighbour entry ${n.address} dev ${n.dev}`),
    ...r.unpinned.map((p) => `unpinned ${p}`),
    ...r.directoriesRemoved.map((d) => `removed directory ${d}`),
  ];
  if (lines.length === 0) return `nothing to remove: no dsrlb program attached in this network namespace, no dsrlb neighbour entry, nothing under ${bpffsRoot}\n`;
  return `${lines.join('\n')}\n`;
}
