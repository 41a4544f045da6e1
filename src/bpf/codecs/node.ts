/** Codecs for `nodes` and `config`. */
import { be16, ipv4, pad, scalar, struct, u16, u32, u64 } from '../codec.js';

export const dsrlbNode = struct('dsrlb_node', { address: ipv4, pad: pad(4) });
export type DsrlbNode = ReturnType<typeof dsrlbNode.decode>;

export const dsrlbConfig = struct('dsrlb_config', {
  nodeId: u32,
  nodeAddress: ipv4,
  mode: u32,
  mtu: u32,
  genevePort: be16,
  optClass: u16,
  snatPortMin: u16,
  snatPortMax: u16,
  replyRate: u32,
  replyBurst: u32,
  /** Bumped by the reconciler whenever a frontend or a local backend goes (src/reconcile/local-epoch.ts). */
  localEpoch: u16,
  pad: pad(2),
  pad2: pad(4),
  sockNetnsCookie: u64,
});
export type DsrlbConfig = ReturnType<typeof dsrlbConfig.decode>;

/** node_addrs key: a node address (__be32). */
export const nodeAddress = scalar(ipv4);
