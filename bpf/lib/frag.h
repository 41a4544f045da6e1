/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * frag.h - tc egress: IPv4 fragments of a reply (a pod's UDP datagram larger
 * than its MTU leaves as fragments). Only the first fragment carries the
 * ports, so it alone can be matched against lb4_dsr_revnat; when it matches,
 * and its source is a local backend (as for a whole reply, local.h), it is
 * rewritten (its L4 checksum is the whole datagram's, so the
 * incremental update holds) and the frontend is recorded in lb4_frag_revnat
 * under {pod, client, IP id, protocol}. Every later fragment of that
 * datagram finds it there and gets the same source address: the client
 * reassembles a datagram from the frontend. The kernel sends a datagram's
 * fragments in order, so the first one's state is written before the rest
 * look for it; a later fragment without state is not a reply we know and
 * leaves as it is.
 *
 * Requests to a frontend are not balanced when fragmented (XDP passes every
 * fragment to the stack); the first fragment, which names the frontend, is
 * counted apart so the policy is visible (docs/datapath.md, Fragments).
 */
#ifndef DSRLB_FRAG_H
#define DSRLB_FRAG_H

#include <linux/pkt_cls.h>
#include "maps.h"
#include "config.h"
#include "lb.h"
#include "local.h"
#include "nat.h"
#include "parse.h"
#include "revnat.h"
#include "stats.h"

/* The first fragment (PARSE_FRAGMENT, offset 0): rewritten and recorded if it is a reply. */
static __always_inline int frag_first(struct __sk_buff *skb, struct pkt4 *p, const struct lb4_frag_key *key)
{
	__u32 ip_off = sizeof(struct ethhdr), l4_off = ip_off + ipv4_hdr_len(p->ip);
	__u32 csum_end = p->tuple.proto == IPPROTO_TCP ? DSRLB_TCP_CSUM_END : DSRLB_UDP_CSUM_END;
	struct udphdr *ports = p->l4;
	struct lb4_dsr_frontend frontend;
	const struct lb4_dsr_frontend *entry;
	struct lb4_revnat later;
	int where;

	if (p->tuple.proto != IPPROTO_TCP && p->tuple.proto != IPPROTO_UDP)
		return TC_ACT_UNSPEC;
	if ((void *)ports + sizeof(__be32) > p->data_end)
		return TC_ACT_UNSPEC;
	p->tuple.sport = ports->source;
	p->tuple.dport = ports->dest;
	entry = revnat_find(&p->tuple, &where);
	if (!entry)
		return TC_ACT_UNSPEC;
	frontend = *entry;
	/* As for a whole reply (tc_revnat.c): a local backend's, or left alone. */
	if (unlikely(!revnat_source_local(&p->tuple, &frontend, config_get())))
		return count(DSRLB_STAT_PASS_REVNAT_NOT_LOCAL, TC_ACT_UNSPEC);
	/* A reply we cannot rewrite must not leave with the pod's address. */
	if (p->l4_len < csum_end)
		return count(DSRLB_STAT_DROP_FRAG_SHORT, TC_ACT_SHOT);
	if (nat_skb_set_src(skb, ip_off, l4_off, p->tuple.proto, p->tuple.saddr, frontend.address,
			    p->tuple.sport, frontend.port))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, TC_ACT_SHOT);
	later = (struct lb4_revnat){ .address = frontend.address, .port = frontend.port };
	bpf_map_update_elem(&lb4_frag_revnat, key, &later, BPF_ANY);
	return count(DSRLB_STAT_FRAG_REVNAT, TC_ACT_UNSPEC);
}

/* A fragment leaving (parse_ipv4 said PARSE_FRAGMENT). */
static __always_inline int frag_revnat(struct __sk_buff *skb, struct pkt4 *p)
{
	struct lb4_frag_key key = {
		.saddr = p->ip->saddr,
		.daddr = p->ip->daddr,
		.id = p->ip->id,
		.proto = p->ip->protocol,
	};
	const struct lb4_revnat *entry;
	__be32 frontend;

	if (!(p->ip->frag_off & bpf_htons(DSRLB_IP_OFFSET_MASK)))
		return frag_first(skb, p, &key);
	entry = bpf_map_lookup_elem(&lb4_frag_revnat, &key);
	if (!entry)
		return TC_ACT_UNSPEC;
	frontend = entry->address;
	if (bpf_l3_csum_replace(skb, sizeof(struct ethhdr) + offsetof(struct iphdr, check), key.saddr,
				frontend, sizeof(frontend)) ||
	    bpf_skb_store_bytes(skb, sizeof(struct ethhdr) + offsetof(struct iphdr, saddr), &frontend,
				sizeof(frontend), 0))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, TC_ACT_SHOT);
	return count(DSRLB_STAT_FRAG_REVNAT, TC_ACT_UNSPEC);
}

/* XDP: a fragment arriving (PARSE_FRAGMENT) goes to the stack; a first fragment to a frontend is counted as such. */
static __always_inline int frag_request_verdict(struct pkt4 *p)
{
	struct udphdr *ports = p->l4;

	if (!(p->ip->frag_off & bpf_htons(DSRLB_IP_OFFSET_MASK)) &&
	    (p->tuple.proto == IPPROTO_TCP || p->tuple.proto == IPPROTO_UDP) &&
	    (void *)ports + sizeof(__be32) <= p->data_end) {
		p->tuple.sport = ports->source;
		p->tuple.dport = ports->dest;
		if (!lb_port_unused(&p->tuple) && lb_service(&p->tuple))
			return count(DSRLB_STAT_PASS_FRAGMENT_FRONTEND, XDP_PASS);
	}
	return count(DSRLB_STAT_PASS_FRAGMENT, XDP_PASS);
}

#endif /* DSRLB_FRAG_H */
