/**
 * config.local_epoch (bpf/include/dsrlb.h): a backend node verifies the first
 * Geneve packet of a flow (a frontend here, a local backend of it) and stamps
 * the flow's reverse-NAT entry with the epoch; later packets at the same
 * epoch skip the check. Whatever removes a frontend or a local backend, or
 * moves a frontend to another service, must bump it, so every flow is
 * verified again. 0 means "verify every packet" and is skipped.
 */
import type { DsrlbConfig } from '../bpf/codecs/node.js';
import type { LbMap } from './maps/lb-maps.js';

const MAX_EPOCH = 0xffff;

export function nextLocalEpoch(epoch: number): number {
  return epoch >= MAX_EPOCH ? 1 : epoch + 1;
}

/** Bumps config[0].local_epoch in place (the rest of config as it is); returns the new epoch. */
export function bumpLocalEpoch(config: LbMap<number, DsrlbConfig>): number {
  const cur = config.lookup(0);
  if (!cur) return 0;
  const localEpoch = nextLocalEpoch(cur.localEpoch);
  config.update(0, { ...cur, localEpoch });
  return localEpoch;
}
