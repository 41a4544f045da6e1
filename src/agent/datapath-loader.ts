/**
 * Puts the datapath on the node's devices: loads the objects with the agent's
 * bpffs root (maps pinned there are adopted, so a restart keeps live flows),
 * attaches XDP and tc egress to every device (replacing what a previous run
 * attached, never detaching first: no window without a program), and writes
 * the `config` map.
 */
import { execFileSync } from 'node:child_process';
import { BpfObjectFile, BpfObjects, ensureBpffs, ifindex, links, type XdpMode } from '../bpf/index.js';
import {
  DSRLB_GENEVE_OPT_CLASS, DSRLB_GENEVE_PORT, DSRLB_SNAT_PORT_MAX, DSRLB_SNAT_PORT_MIN, dsrlb_mode,
} from '../bpf/consts.generated.js';
import { MapSpecs, mapOf } from '../bpf/map-specs.js';
import { DsrlbError } from '../errors.js';
import type { Mode } from './config.js';

/** tc filter slot dsrlb owns on each device's clsact egress hook. */
export const TC_HANDLE = 0xd5b;
export const TC_PRIORITY = 1;

export interface DatapathOptions {
  readonly bpffsRoot: string;
  readonly devices: readonly string[];
  readonly xdpMode: XdpMode;
  readonly mode: Mode;
  readonly nodeId: number;
  readonly nodeAddress: string;
  readonly mtu: number;
  /** --socket-lb-host-namespace-only: the network namespace the socket hooks translate for (0n or unset: all). */
  readonly sockNetnsCookie?: bigint;
}

export interface LoadedDatapath {
  readonly xdp: BpfObjectFile;
  readonly tc: BpfObjectFile;
  /** Device -> the XDP mode that took. */
  readonly attached: ReadonlyMap<string, XdpMode>;
  /** bpffs had to be mounted by us: pins may not outlive this mount namespace. */
  readonly mountedBpffs: boolean;
  close(): void;
}

const MODES: Readonly<Record<Mode, number>> = {
  dsr: dsrlb_mode.DSRLB_MODE_DSR, snat: dsrlb_mode.DSRLB_MODE_SNAT, hybrid: dsrlb_mode.DSRLB_MODE_HYBRID,
};

export function deviceMtu(device: string): number {
  const link = links(device)[0];
  if (!link) throw new DsrlbError('ERR_NO_DEVICE', 'no such network device', { subject: device, remedy: 'check --devices against `ip link`' });
  return link.mtu;
}

/** The first IPv4 address of a device, from `ip -j addr`. */
export function deviceIpv4(device: string): string {
  const out = execFileSync('ip', ['-j', '-4', 'addr', 'show', 'dev', device], { encoding: 'utf8' });
  const parsed = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
  const addr = parsed[0]?.addr_info?.[0]?.local;
  if (!addr) {
    throw new DsrlbError('ERR_NO_ADDRESS', 'device has no IPv4 address', { subject: device, remedy: 'pass --node-address' });
  }
  return addr;
}

export function loadDatapath(opts: DatapathOptions): LoadedDatapath {
  const indexes = opts.devices.map((d) => [d, ifindex(d)] as const);
  const mountedBpffs = ensureBpffs(opts.bpffsRoot);
  const xdp = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: opts.bpffsRoot });
  let tc: BpfObjectFile | undefined;
  try {
    tc = BpfObjectFile.load(BpfObjects.tcRevnat, { pinRoot: opts.bpffsRoot });
    mapOf(xdp, MapSpecs.config).update(0, {
      nodeId: opts.nodeId,
      nodeAddress: opts.nodeAddress,
      mode: MODES[opts.mode],
      mtu: opts.mtu,
      genevePort: DSRLB_GENEVE_PORT,
      optClass: DSRLB_GENEVE_OPT_CLASS,
      snatPortMin: DSRLB_SNAT_PORT_MIN,
      snatPortMax: DSRLB_SNAT_PORT_MAX,
      sockNetnsCookie: opts.sockNetnsCookie ?? 0n,
    });
    const attached = new Map<string, XdpMode>();
    const xdpProg = xdp.program('xdp_lb');
    const tcProg = tc.program('tc_revnat');
    for (const [device, idx] of indexes) {
      attached.set(device, xdpProg.attachXdp(idx, opts.xdpMode));
      tcProg.attachTc(idx, 'egress', TC_HANDLE, TC_PRIORITY);
    }
    const tcObj = tc;
    return { xdp, tc: tcObj, attached, mountedBpffs, close: () => { xdp.close(); tcObj.close(); } };
  } catch (e) {
    xdp.close();
    tc?.close();
    throw e;
  }
}
