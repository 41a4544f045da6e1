/**
 * How lbctl names what the maps hold, the way Cilium's CLI does: frontend
 * types and flags (`[LoadBalancer, dsr, Local]`), byte sizes and durations.
 * Pure: the callers read the maps.
 */
import {
  DSRLB_SVC_F_AFFINITY, DSRLB_SVC_F_NOEP_DROP, DSRLB_SVC_F_NOEP_REJECT, DSRLB_SVC_F_SOCKET_ONLY, DSRLB_SVC_F_SOURCE_RANGES,
  dsrlb_frontend_kind, dsrlb_mode,
} from '../bpf/consts.generated.js';

const KIND_NAMES: Readonly<Record<number, string>> = {
  [dsrlb_frontend_kind.DSRLB_KIND_CLUSTER_IP]: 'ClusterIP',
  [dsrlb_frontend_kind.DSRLB_KIND_NODE_PORT]: 'NodePort',
  [dsrlb_frontend_kind.DSRLB_KIND_LOAD_BALANCER]: 'LoadBalancer',
  [dsrlb_frontend_kind.DSRLB_KIND_EXTERNAL_IP]: 'ExternalIP',
};

export function kindName(kind: number): string {
  return KIND_NAMES[kind] ?? 'unknown';
}

/** The frontend's type as `lbctl bpf lb list` shows it; socket-only entries are the NodePort on any node address. */
export function frontendType(kind: number, flags: number): string {
  const name = kindName(kind);
  return flags & DSRLB_SVC_F_SOCKET_ONLY ? `${name} (socket LB, any node address)` : name;
}

/** How the node's mode (config.mode) forwards a protocol: hybrid is DSR for TCP, SNAT for the rest. */
export function forwardingPath(mode: number, protocol: string): 'dsr' | 'snat' {
  if (mode === dsrlb_mode.DSRLB_MODE_SNAT) return 'snat';
  if (mode === dsrlb_mode.DSRLB_MODE_HYBRID && protocol !== 'TCP') return 'snat';
  return 'dsr';
}

export interface FrontendFacts {
  readonly kind: number;
  /** lb4_service.flags */
  readonly flags: number;
  readonly protocol: string;
  /** config.mode; undefined when the node is not configured. */
  readonly mode?: number | undefined;
  /** The Service's traffic policy for this frontend, known from the agent's plan only. */
  readonly trafficScope?: 'Cluster' | 'Local' | undefined;
}

/**
 * `[LoadBalancer, dsr, Local, sessionAffinity, ...]`: the type, then how it
 * is forwarded, then what changes its behaviour, as `cilium service list` does.
 */
export function frontendFlags(f: FrontendFacts): string[] {
  const out = [kindName(f.kind)];
  if (f.flags & DSRLB_SVC_F_SOCKET_ONLY) out.push('socket-LB only');
  else if (f.mode !== undefined) out.push(forwardingPath(f.mode, f.protocol));
  if (f.trafficScope === 'Local') out.push('Local');
  if (f.flags & DSRLB_SVC_F_AFFINITY) out.push('sessionAffinity');
  if (f.flags & DSRLB_SVC_F_SOURCE_RANGES) out.push('sourceRanges');
  if (f.flags & DSRLB_SVC_F_NOEP_REJECT) out.push('no-endpoints: reject');
  else if (f.flags & DSRLB_SVC_F_NOEP_DROP) out.push('no-endpoints: drop');
  return out;
}

export function bracketed(items: readonly string[]): string {
  return `[${items.join(', ')}]`;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB'];

/** 1536 -> "1.5 KiB", as `cilium map list` and bpftool print memory. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${UNITS[u] ?? ''}`;
}

/** A duration in seconds as the largest two units: "42s", "3m12s", "2h05m", "3d04h". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}
