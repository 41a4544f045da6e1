/**
 * Puts the datapath on the node's devices in two steps, so the agent can fill
 * new maps before any program uses them: loadDatapath loads the objects
 * (XDP, tc and the socket LB's cgroup programs) with the agent's layout directory (maps pinned there are adopted, so a restart keeps
 * live flows; missing ones are created and pinned), attachDatapath writes the
 * `config` map and attaches XDP and tc egress to every device (replacing what
 * a previous run attached, never detaching first: no window without a program).
 */
import { BpfObjectFile, datapathObjects, ifindex, type XdpMode } from '../bpf/index.js';
import { DSRLB_GENEVE_OPT_CLASS, DSRLB_SNAT_PORT_MAX, DSRLB_SNAT_PORT_MIN, dsrlb_mode } from '../bpf/consts.generated.js';
import { MapSpecs, mapOf } from '../bpf/map-specs.js';
import type { AgentConfig, Mode } from './config.js';

/**
 * tc filter slot dsrlb owns on each device's clsact egress hook: first in
 * line (pref 1), so every filter after it sees the reply as the client will,
 * and tc_revnat continues to them (TC_ACT_UNSPEC). Its own handle: a
 * replace touches only dsrlb's filter, never another one at the same pref.
 */
export const TC_HANDLE = 0xd5b;
export const TC_PRIORITY = 1;

export interface AttachOptions {
  readonly devices: readonly string[];
  readonly xdpMode: XdpMode;
  readonly mode: Mode;
  readonly nodeId: number;
  readonly nodeAddress: string;
  readonly mtu: number;
  readonly genevePort: number;
  readonly generatedReplies: AgentConfig['generatedReplies'];
  /** --socket-lb-host-namespace-only: the network namespace the socket hooks translate for (0n or unset: all). */
  readonly sockNetnsCookie?: bigint;
}

export interface LoadedDatapath {
  readonly xdp: BpfObjectFile;
  readonly tc: BpfObjectFile;
  /** The socket LB's cgroup programs: loaded always (its maps are part of the layout), attached with --socket-lb. */
  readonly sock: BpfObjectFile;
  close(): void;
}

const MODES: Readonly<Record<Mode, number>> = {
  dsr: dsrlb_mode.DSRLB_MODE_DSR, snat: dsrlb_mode.DSRLB_MODE_SNAT, hybrid: dsrlb_mode.DSRLB_MODE_HYBRID,
};

/**
 * Loads every object of the build in `objectDir`, pinning under `mapsDir`, with
 * `maxEntries` (map name -> size) applied to each; nothing is attached and no map entry is written.
 */
export function loadDatapath(mapsDir: string, objectDir?: string, maxEntries: Readonly<Record<string, number>> = {}): LoadedDatapath {
  const objects = datapathObjects(objectDir);
  const loaded: BpfObjectFile[] = [];
  try {
    for (const path of [objects.xdpLb, objects.tcRevnat, objects.sockLb]) loaded.push(BpfObjectFile.load(path, { pinRoot: mapsDir, maxEntries }));
  } catch (e) {
    for (const o of loaded) o.close();
    throw e;
  }
  const [xdp, tc, sock] = loaded as [BpfObjectFile, BpfObjectFile, BpfObjectFile];
  return { xdp, tc, sock, close: () => { for (const o of loaded) o.close(); } };
}

/** Writes `config` (which marks the maps as holding a plan) and attaches; returns device -> the XDP mode that took. */
export function attachDatapath(dp: LoadedDatapath, opts: AttachOptions, beforeSwap?: () => void): Map<string, XdpMode> {
  const indexes = opts.devices.map((d) => [d, ifindex(d)] as const);
  const config = mapOf(dp.xdp, MapSpecs.config);
  config.update(0, {
    nodeId: opts.nodeId,
    nodeAddress: opts.nodeAddress,
    mode: MODES[opts.mode],
    mtu: opts.mtu,
    genevePort: opts.genevePort,
    optClass: DSRLB_GENEVE_OPT_CLASS,
    snatPortMin: DSRLB_SNAT_PORT_MIN,
    snatPortMax: DSRLB_SNAT_PORT_MAX,
    replyRate: opts.generatedReplies.rate,
    replyBurst: opts.generatedReplies.burst,
    // The reconciler's (src/reconcile/local-epoch.ts): kept as it is.
    localEpoch: config.lookup(0)?.localEpoch ?? 0,
    sockNetnsCookie: opts.sockNetnsCookie ?? 0n,
  });
  const attached = new Map<string, XdpMode>();
  const xdpProg = dp.xdp.program('xdp_lb');
  const tcProg = dp.tc.program('tc_revnat');
  beforeSwap?.();
  for (const [device, idx] of indexes) {
    attached.set(device, xdpProg.attachXdp(idx, opts.xdpMode));
    tcProg.attachTc(idx, 'egress', TC_HANDLE, TC_PRIORITY);
  }
  return attached;
}
