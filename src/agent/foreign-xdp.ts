/**
 * XDP programs on the agent's devices that dsrlb did not attach: a device
 * holds one XDP program per mode, so attaching would silently replace
 * somebody else's (a CNI's, a firewall's). Read-only: meant for the checks
 * the agent makes before it touches the kernel.
 */
import { ifindex, programName, xdpProgramIds, type XdpMode } from '../bpf/index.js';
import { DsrlbError } from '../errors.js';
import { XDP_PROGRAM } from './attachments.js';

export interface ForeignXdp {
  readonly device: string;
  readonly mode: XdpMode;
  readonly id: number;
  readonly name: string;
}

/** The XDP programs on these devices that are not dsrlb's xdp_lb. */
export function foreignXdpPrograms(devices: readonly string[]): ForeignXdp[] {
  const out: ForeignXdp[] = [];
  for (const device of devices) {
    for (const { mode, id } of xdpProgramIds(ifindex(device))) {
      const name = programName(id);
      if (name !== XDP_PROGRAM) out.push({ device, mode, id, name });
    }
  }
  return out;
}

/**
 * Throws ERR_FOREIGN_XDP naming the first foreign program unless `replace`
 * (--xdp-replace-foreign); returns what attaching will replace.
 */
export function checkForeignXdp(devices: readonly string[], replace: boolean): ForeignXdp[] {
  const found = foreignXdpPrograms(devices);
  const first = found[0];
  if (first && !replace) {
    throw new DsrlbError('ERR_FOREIGN_XDP', `has XDP program id ${first.id} '${first.name}' (${first.mode} mode), not attached by dsrlb`, {
      subject: first.device,
      remedy: `remove it (ip link set dev ${first.device} xdp off), or pass --xdp-replace-foreign to have dsrlb replace it`,
      context: { programs: found },
    });
  }
  return found;
}
