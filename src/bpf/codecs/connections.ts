/** Codecs for the connection tables: lb4_flows, lb4_dsr_revnat, lb4_frag_revnat, lb4_snat, lb4_affinity, lb4_sock_revnat. */
import { be16, ipv4, pad, struct, u16, u32, u64, u8 } from '../codec.js';

export const lb4Tuple = struct('lb4_tuple', {
  saddr: ipv4, daddr: ipv4, sport: be16, dport: be16, proto: u8, flags: u8, pad: pad(2),
});
export type Lb4Tuple = ReturnType<typeof lb4Tuple.decode>;

/** lb4_frag_revnat key: a fragmented reply's {pod, client, IP id, protocol}. */
export const lb4FragKey = struct('lb4_frag_key', { saddr: ipv4, daddr: ipv4, id: be16, proto: u8, pad: pad(1) });
export type Lb4FragKey = ReturnType<typeof lb4FragKey.decode>;

/**
 * lb4_dsr_revnat value: the frontend a reply must come from. `epoch` is the
 * datapath's own stamp (config.local_epoch at verification): read as nothing,
 * written as 0 (unverified), like padding.
 */
/** epoch and flags are the datapath's own (written zero from userspace: the next packet of the flow verifies it again). */
export const lb4DsrFrontend = struct('lb4_dsr_frontend', { address: ipv4, port: be16, epoch: pad(2), flags: pad(1), pad: pad(3) });
export type Lb4DsrFrontend = ReturnType<typeof lb4DsrFrontend.decode>;

/** lb4_flow: `state` (enum dsrlb_flow_state) and `createdS` (CLOCK_MONOTONIC seconds) are the datapath's; written as 0 by hand. */
export const lb4Flow = struct('lb4_flow', {
  backendId: u32, serviceId: u32, backendGeneration: u32, frontendGeneration: u32, revnatId: u16, state: u8, flags: u8, createdS: u32,
});
export type Lb4Flow = ReturnType<typeof lb4Flow.decode>;

export const lb4SnatEntry = struct('lb4_snat_entry', { saddr: ipv4, daddr: ipv4, sport: be16, dport: be16 });
export type Lb4SnatEntry = ReturnType<typeof lb4SnatEntry.decode>;

export const lb4AffinityKey = struct('lb4_affinity_key', { client: ipv4, serviceId: u32, netnsCookie: u64 });
export type Lb4AffinityKey = ReturnType<typeof lb4AffinityKey.decode>;

export const lb4Affinity = struct('lb4_affinity', { lastUsedNs: u64, backendId: u32, backendGeneration: u32 });
export type Lb4Affinity = ReturnType<typeof lb4Affinity.decode>;

/** lb4_sock_revnat: {socket cookie, backend} -> the frontend a UDP socket addressed. */
export const lb4SockRevnatKey = struct('lb4_sock_revnat_key', { cookie: u64, address: ipv4, port: be16, pad: pad(2) });
export type Lb4SockRevnatKey = ReturnType<typeof lb4SockRevnatKey.decode>;

export const lb4SockRevnat = struct('lb4_sock_revnat', { lastUsedNs: u64, address: ipv4, port: be16, pad: pad(2) });
export type Lb4SockRevnat = ReturnType<typeof lb4SockRevnat.decode>;
