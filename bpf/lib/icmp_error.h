/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp_error.h - tc egress: a pod's ICMP error about a packet of a DSR or
 * local-backend flow (port unreachable, fragmentation needed, time
 * exceeded, ...). The pod quotes what it received, client -> pod; the
 * client sent client -> frontend and only matches an error quoting that,
 * so the quote's destination becomes the frontend and, when the pod itself
 * sent the error, so does the outer source (the pod's address never
 * leaves). An error from a router on the way keeps the router's address.
 * As for replies, only a local backend's flow is rewritten (local.h).
 */
#ifndef DSRLB_ICMP_ERROR_H
#define DSRLB_ICMP_ERROR_H

#include <linux/pkt_cls.h>
#include "maps.h"
#include "config.h"
#include "icmp_quote.h"
#include "local.h"
#include "parse.h"
#include "revnat.h"
#include "stats.h"

/* `skb` parsed as ICMP (PARSE_OTHER_PROTO): rewritten if it is a pod's error about a reverse-NAT flow. */
static __always_inline int icmp_error_revnat(struct __sk_buff *skb)
{
	__u32 pull = skb->len < DSRLB_ICMP_PULL_LEN ? skb->len : DSRLB_ICMP_PULL_LEN;
	const struct lb4_dsr_frontend *entry;
	struct lb4_dsr_frontend frontend;
	struct icmp_quote q;
	struct lb4_tuple reply;
	struct pkt4 p = {};
	void *data_end;
	__u64 diff;
	int where;

	/* The quote lies further in than the headers tc_revnat made readable. */
	if ((void *)(long)skb->data + pull > (void *)(long)skb->data_end && bpf_skb_pull_data(skb, pull))
		return TC_ACT_UNSPEC;
	data_end = (void *)(long)skb->data_end;
	if (parse_ipv4((void *)(long)skb->data, data_end, skb->len, &p) != PARSE_OTHER_PROTO ||
	    p.tuple.proto != IPPROTO_ICMP || icmp_quote_parse(&p, &q))
		return TC_ACT_UNSPEC;

	/* The pod's replies on that flow have the quote's tuple reversed. */
	tuple_reverse(&q.tuple, &reply);
	entry = revnat_find(&reply, &where);
	if (!entry)
		return TC_ACT_UNSPEC;
	frontend = *entry;
	/* The quoted flow must be a local backend's (local.h), whoever sent the
	 * error: a host socket's or a stale entry's flow is not ours to rewrite. */
	if (unlikely(!revnat_source_local(&reply, &frontend, config_get())))
		return count(DSRLB_STAT_PASS_REVNAT_NOT_LOCAL, TC_ACT_UNSPEC);

	diff = icmp_quote_set(&q, data_end, QUOTE_DST, frontend.address, frontend.port);
	icmp_quote_done(&q, data_end, diff);
	if (p.ip->saddr == reply.saddr)
		ipv4_set_addr(p.ip, &p.ip->saddr, frontend.address);
	return count(DSRLB_STAT_ICMP_TO_CLIENT, TC_ACT_UNSPEC);
}

#endif /* DSRLB_ICMP_ERROR_H */
