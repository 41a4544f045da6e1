/**
 * `dsrlb-agent cleanup`: detaches dsrlb's programs from every device of this
 * network namespace and the socket LB from its cgroup, and removes the pinned
 * maps. It finds the device programs by name in the kernel and the socket LB
 * by its pinned links, so it needs no state from the agent that attached them.
 */
import { existsSync, rmSync } from 'node:fs';
import { detachTc, detachXdp } from '../bpf/index.js';
import { dsrlbAttachments } from './attachments.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath-loader.js';
import { lockRoot } from './lock.js';
import { detachSocketLb } from './socket-lb.js';

export interface CleanupReport { xdpDetached: string[]; tcDetached: string[]; socketLbDetached: string[]; unpinned: boolean }

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
  const report: CleanupReport = { xdpDetached: [], tcDetached: [], socketLbDetached: detachSocketLb(bpffsRoot), unpinned: false };
  for (const a of dsrlbAttachments()) {
    if (a.xdp === 'native' || a.xdp === 'generic') {
      detachXdp(a.ifindex, a.xdp);
      report.xdpDetached.push(a.device);
    }
    if (a.tcEgress) {
      detachTc(a.ifindex, 'egress', TC_HANDLE, TC_PRIORITY);
      report.tcDetached.push(a.device);
    }
  }
  try {
    rmSync(bpffsRoot, { recursive: true });
    report.unpinned = true;
  } catch { /* nothing pinned */ }
  return report;
}
