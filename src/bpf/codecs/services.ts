/** Codecs for the service maps: lb4_services, lb4_frontends, lb4_backends, lb4_revnat. */
import { be16, ipv4, pad, struct, u16, u32, u8 } from '../codec.js';

export const lb4Key = struct('lb4_key', { address: ipv4, port: be16, proto: u8, pad: pad(1) });
export type Lb4Key = ReturnType<typeof lb4Key.decode>;

export const lb4Service = struct('lb4_service', {
  serviceId: u32,
  affinityTimeout: u32,
  backendCount: u16,
  revnatId: u16,
  flags: u8,
  kind: u8,
  internalRevnat: u16,
  maglevSize: u32,
});
export type Lb4Service = ReturnType<typeof lb4Service.decode>;

export const lb4Backend = struct('lb4_backend', { address: ipv4, port: be16, proto: u8, flags: u8, nodeId: u32, generation: u32 });
export type Lb4Backend = ReturnType<typeof lb4Backend.decode>;

/** lb4_frontends: an lb4_services entry's service id and flags at its revnat id. */
export const lb4Frontend = struct('lb4_frontend', { serviceId: u16, flags: u8, pad: pad(1), generation: u32 });
export type Lb4Frontend = ReturnType<typeof lb4Frontend.decode>;

/** lb4_local_backends key: a backend on this node in a service's backend set (service id 0: any service). */
export const lb4LocalBackendKey = struct('lb4_local_backend_key', { address: ipv4, port: be16, proto: u8, pad: pad(1), serviceId: u32 });
export type Lb4LocalBackendKey = ReturnType<typeof lb4LocalBackendKey.decode>;

export const lb4Revnat = struct('lb4_revnat', { address: ipv4, port: be16, pad: pad(2) });
/** lb4_backend_frontends' key: a local backend's {address, port, proto}. */
export const lb4BackendAddr = struct('lb4_backend_addr', { address: ipv4, port: be16, proto: u8, pad: pad(1) });
export type Lb4BackendAddr = ReturnType<typeof lb4BackendAddr.decode>;
export type Lb4Revnat = ReturnType<typeof lb4Revnat.decode>;
/**
 * lb4_revnat is an array: a free revnat id's entry is all zero. Port 0 tells
 * (every frontend has a port; the socket LB's {0.0.0.0, nodePort} entries
 * have address 0).
 */
export const FREE_REVNAT: Lb4Revnat = { address: '0.0.0.0', port: 0 };
export function isLiveRevnat(r: Lb4Revnat): boolean { return r.port !== FREE_REVNAT.port; }
