/**
 * `dsrlb-agent cleanup`: detaches dsrlb's programs from every device of this
 * network namespace and removes the pinned maps. It finds the programs by
 * name in the kernel, so it needs no state from the agent that attached them.
 */
import { rmSync } from 'node:fs';
import { detachTc, detachXdp, links, native, tcAttachment, xdpAttachment } from '../bpf/index.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath-loader.js';

const XDP_PROGRAMS = new Set(['xdp_lb']);
const TC_PROGRAMS = new Set(['tc_revnat']);

function programName(id: number): string {
  const fd = native().progFdById(id);
  try {
    return native().progInfo(fd).name;
  } finally {
    native().closeFd(fd);
  }
}

export interface CleanupReport { xdpDetached: string[]; tcDetached: string[]; unpinned: boolean }

export function cleanup(bpffsRoot: string): CleanupReport {
  const report: CleanupReport = { xdpDetached: [], tcDetached: [], unpinned: false };
  for (const { name: device, ifindex: idx } of links()) {
    const x = xdpAttachment(idx);
    if (x.progId && (x.mode === 'native' || x.mode === 'generic') && XDP_PROGRAMS.has(programName(x.progId))) {
      detachXdp(idx, x.mode);
      report.xdpDetached.push(device);
    }
    const tcId = tcAttachment(idx, 'egress', TC_HANDLE, TC_PRIORITY);
    if (tcId && TC_PROGRAMS.has(programName(tcId))) {
      detachTc(idx, 'egress', TC_HANDLE, TC_PRIORITY);
      report.tcDetached.push(device);
    }
  }
  try {
    rmSync(bpffsRoot, { recursive: true });
    report.unpinned = true;
  } catch { /* nothing pinned */ }
  return report;
}
