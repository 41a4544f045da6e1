/**
 * The datapath's counters (enum dsrlb_stat, read by src/bpf/stats.ts under
 * their lower-case names) sorted into the metrics an operator queries, the
 * way Cilium splits its own: drops by reason and direction, forwards by
 * path, packets handed to the kernel untouched by reason, socket-LB
 * outcomes, and the rest as events. The sorting goes by name prefix, so a
 * counter added to dsrlb.h shows up in the right metric with no change here;
 * only names that say less than they mean are listed.
 */
import { dsrlb_stat } from '../bpf/consts.generated.js';

export type Direction = 'ingress' | 'egress';

export type CounterClass =
  | { readonly metric: 'drop'; readonly reason: string; readonly direction: Direction }
  | { readonly metric: 'forward'; readonly path: string }
  | { readonly metric: 'pass'; readonly reason: string }
  | { readonly metric: 'socket'; readonly outcome: string }
  | { readonly metric: 'event'; readonly event: string };

const STAT_PREFIX = 'DSRLB_STAT_';

/** Every counter's name, as readStats() reports it. */
export const COUNTER_NAMES: readonly string[] = Object.entries(dsrlb_stat)
  .filter(([, index]) => index !== dsrlb_stat.DSRLB_STAT_MAX)
  .map(([name]) => name.slice(STAT_PREFIX.length).toLowerCase());

/** Counters that move a packet on towards its destination, whatever their prefix: the path it took. */
const FORWARD_PATHS: Readonly<Record<string, string>> = {
  tx_encap: 'dsr_encap',
  tx_snat: 'snat',
  tx_snat_reply: 'snat_reply',
  pass_local: 'local',
  pass_decap: 'decap',
  revnat_rewrite: 'reply_rewrite',
  frag_revnat: 'reply_rewrite_fragment',
  icmp_to_client: 'icmp_to_client',
  icmp_to_backend: 'icmp_to_backend',
};

/** Replies the datapath makes itself (RST, ICMP) and marks on a packet: events, not forwards. */
const EVENTS: ReadonlySet<string> = new Set(['tx_reject', 'tx_too_big', 'service_hit', 'mss_clamped']);

/**
 * Drop reasons counted only on tc egress (the reply path); every other one is
 * counted in XDP, on ingress. A reason both hooks count (encap_failed: a
 * packet could not be resized or rewritten) is one counter in the datapath
 * and is reported as ingress. A unit test holds this list to the C sources.
 */
export const EGRESS_DROP_REASONS: ReadonlySet<string> = new Set(['frag_short']);

export function classify(name: string): CounterClass {
  const path = FORWARD_PATHS[name];
  if (path !== undefined) return { metric: 'forward', path };
  if (EVENTS.has(name)) return { metric: 'event', event: name };
  if (name.startsWith('drop_')) {
    const reason = name.slice('drop_'.length);
    return { metric: 'drop', reason, direction: EGRESS_DROP_REASONS.has(reason) ? 'egress' : 'ingress' };
  }
  if (name.startsWith('pass_')) return { metric: 'pass', reason: name.slice('pass_'.length) };
  if (name.startsWith('sock_')) return { metric: 'socket', outcome: name.slice('sock_'.length) };
  if (name.startsWith('tx_')) return { metric: 'forward', path: name.slice('tx_'.length) };
  return { metric: 'event', event: name };
}
