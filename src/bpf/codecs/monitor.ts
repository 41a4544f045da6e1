/** Codecs for lbctl monitor's maps: monitor_gate, monitor_pending and the monitor_events records. */
import { be16, i16, ipv4, nested, pad, struct, u16, u32, u64, u8 } from '../codec.js';
import { lb4Tuple } from './connections.js';

export const dsrlbMonitorGate = struct('dsrlb_monitor_gate', { expiresNs: u64, types: u32, ownerPid: u32 });
export type DsrlbMonitorGate = ReturnType<typeof dsrlbMonitorGate.decode>;

/** One monitor_events record (struct dsrlb_event). */
export const dsrlbEvent = struct('dsrlb_event', {
  tsNs: u64,
  ifindex: u32,
  len: u32,
  reason: u16,
  type: u8,
  hook: u8,
  cpu: u16,
  verdict: i16,
  tuple: nested(lb4Tuple),
  outerSaddr: ipv4,
  outerDaddr: ipv4,
  frontendAddress: ipv4,
  frontendPort: be16,
  optType: u8,
  pad: pad(1),
});
export type DsrlbEvent = ReturnType<typeof dsrlbEvent.decode>;

export const dsrlbMonitorPending = struct('dsrlb_monitor_pending', { event: nested(dsrlbEvent), lost: u64 });
export type DsrlbMonitorPending = ReturnType<typeof dsrlbMonitorPending.decode>;
