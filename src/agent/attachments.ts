/**
 * Where dsrlb's programs are attached in this network namespace, found in the
 * kernel by program name (no agent state needed): used by `cleanup` and
 * `lbctl status`.
 */
import { links, programName, tcAttachment, xdpAttachment, type XdpAttachment } from '../bpf/index.js';
import { TC_HANDLE, TC_PRIORITY } from './datapath-loader.js';

export const XDP_PROGRAM = 'xdp_lb';
export const TC_PROGRAM = 'tc_revnat';

export interface DeviceAttachment {
  readonly device: string;
  readonly ifindex: number;
  /** The XDP mode dsrlb's program is attached in, or null. */
  readonly xdp: XdpAttachment['mode'] | null;
  readonly tcEgress: boolean;
}

export function dsrlbAttachments(): DeviceAttachment[] {
  const out: DeviceAttachment[] = [];
  for (const { name, ifindex } of links()) {
    const x = xdpAttachment(ifindex);
    const xdp = x.progId && programName(x.progId) === XDP_PROGRAM ? x.mode : null;
    const tcId = tcAttachment(ifindex, 'egress', TC_HANDLE, TC_PRIORITY);
    const tcEgress = tcId !== null && programName(tcId) === TC_PROGRAM;
    if (xdp || tcEgress) out.push({ device: name, ifindex, xdp, tcEgress });
  }
  return out;
}
