// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc_revnat - tc egress on the node's devices (docs/design.md §1.4): a reply
 * whose tuple has a reverse-NAT entry leaves with the frontend as its source
 * (and its TCP flags move the entry between the unconfirmed and established
 * tables: revnat.h); a local backend's reply without one is counted, and
 * rewritten when its backend has a single frontend;
 * and its SYN-ACK advertises an MSS that fits once the client's segments
 * are encapsulated; so do the fragments of a reply (frag.h) and a pod's ICMP
 * errors about a flow (icmp_error.h), and only when the source is a local
 * backend (local.h). Works beside any CNI: it only looks at what leaves, and
 * every packet it lets through, rewritten or not, continues to the filters
 * after it (TC_ACT_UNSPEC), so another program on the same hook still runs.
 */
#include <linux/pkt_cls.h>
/* What stats.h reports to the monitor as a drop. */
#define DSRLB_DROP_VERDICT TC_ACT_SHOT
#include "maps.h"
#include "config.h"
#include "frag.h"
#include "icmp_error.h"
#include "local.h"
#include "monitor.h"
#include "nat.h"
#include "parse.h"
#include "revnat.h"
#include "stats.h"
#include "tcp.h"

/*
 * A reply of a flow this node reverse-NATs (`frontend`, from the reverse-NAT
 * table `where`, revnat.h, or the unique-frontend fallback): its TCP state
 * tracked, then rewritten to come from the frontend.
 */
static __always_inline int tc_revnat_reply(struct __sk_buff *skb, const struct pkt4 *p,
					   const struct lb4_dsr_frontend *frontend, int where)
{
	const struct dsrlb_config *cfg = config_get();
	__u32 ip_off = sizeof(struct ethhdr), l4_off;
	const struct tcphdr *tcp;
	int syn_ack;

	tcp = pkt_tcp(p);
	if (tcp)
		revnat_track_tcp(&p->tuple, tcp, frontend, where);
	syn_ack = tcp && tcp_is_syn_ack(tcp);
	l4_off = ip_off + ipv4_hdr_len(p->ip);

	if (nat_skb_set_src(skb, ip_off, l4_off, p->tuple.proto, p->tuple.saddr, frontend->address,
			    p->tuple.sport, frontend->port))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, TC_ACT_SHOT);
	stat_inc(DSRLB_STAT_REVNAT_REWRITE);

	/* Room for the second-chance option too: a full segment may carry one. */
	if (syn_ack && cfg && cfg->mtu > DSRLB_ENCAP_OVERHEAD_MAX + sizeof(struct iphdr) + sizeof(struct tcphdr)) {
		__u16 max_mss = cfg->mtu - DSRLB_ENCAP_OVERHEAD_MAX - sizeof(struct iphdr) - sizeof(struct tcphdr);

		if (tcp_clamp_mss(skb, l4_off, max_mss) > 0)
			stat_inc(DSRLB_STAT_MSS_CLAMPED);
	}
	return TC_ACT_UNSPEC;
}

/*
 * What is no reply, fragment or ICMP error of a flow here (nearly all the
 * node sends) leaves untouched and uncounted, without even the monitor's
 * gate read; everything else leaves through monitor_tc (lib/monitor.h).
 */
SEC("tc")
int tc_revnat(struct __sk_buff *skb)
{
	__u32 pull = skb->len < DSRLB_TC_PULL_LEN ? skb->len : DSRLB_TC_PULL_LEN;
	const struct lb4_dsr_frontend *entry;
	struct lb4_dsr_frontend frontend;
	struct pkt4 p = {};
	int rc, where;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_UNSPEC;
	/* Headers may sit in paged data; make them readable in place. */
	if ((void *)(long)skb->data + pull > (void *)(long)skb->data_end &&
	    bpf_skb_pull_data(skb, pull))
		return TC_ACT_UNSPEC;
	rc = parse_ipv4((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, &p);
	if (rc == PARSE_FRAGMENT)
		return monitor_tc(skb, frag_revnat(skb, &p));
	if (rc == PARSE_OTHER_PROTO && p.tuple.proto == IPPROTO_ICMP)
		return monitor_tc(skb, icmp_error_revnat(skb));
	if (rc != PARSE_OK)
		return TC_ACT_UNSPEC;

	entry = revnat_find(&p.tuple, &where);
	if (likely(entry)) {
		frontend = *entry;
		if (unlikely(!revnat_source_local(&p.tuple, &frontend, config_get())))
			return monitor_tc(skb, count(DSRLB_STAT_PASS_REVNAT_NOT_LOCAL, TC_ACT_UNSPEC));
	} else if (revnat_miss(&p.tuple, &frontend)) {
		/* Not a local backend's reply, or one left as it is (counted in revnat_miss). */
		return TC_ACT_UNSPEC;
	}
	return monitor_tc(skb, tc_revnat_reply(skb, &p, &frontend, where));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
