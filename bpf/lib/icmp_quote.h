/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp_quote.h - the packet an ICMP error quotes (RFC 792: its IPv4 header
 * and at least 8 bytes of its payload), found in place, and the rewrite of
 * one of its ends with every checksum kept right: the quoted IPv4 header's,
 * the quoted TCP/UDP checksum where the quote holds it, and the ICMP
 * checksum, which covers all of the quote. Used by tc egress (a pod's errors
 * leave as the frontend's, icmp_error.h) and XDP (errors about a flow's
 * reply reach its pod, icmp_forward.h), on packet memory in both.
 */
#ifndef DSRLB_ICMP_QUOTE_H
#define DSRLB_ICMP_QUOTE_H

#include <linux/icmp.h>
#include "csum.h"
#include "parse.h"

struct icmp_quote {
	struct icmphdr *icmp;
	struct iphdr *ip;        /* the quoted IPv4 header */
	struct udphdr *ports;    /* the quoted L4 header's first 8 bytes: ports first in TCP and UDP */
	__u32 l4_check_quoted;   /* the quote holds the L4 checksum */
	struct lb4_tuple tuple;  /* the quoted packet's, as quoted */
};

enum icmp_quote_end {
	QUOTE_SRC = 0,
	QUOTE_DST,
};

/* The errors that quote a packet and mean something to its sender. */
static __always_inline int icmp_is_error(__u8 type)
{
	return type == DSRLB_ICMP_DEST_UNREACH || type == DSRLB_ICMP_TIME_EXCEEDED ||
	       type == DSRLB_ICMP_PARAMETERPROB;
}

/*
 * The quote of the ICMP message `p` carries (parse_ipv4 said PARSE_OTHER_PROTO,
 * protocol ICMP). Returns < 0 unless it is an error quoting a TCP or UDP
 * packet's header and ports: a later fragment quotes no ports, and an L4
 * part shorter than 8 bytes breaks RFC 792.
 */
static __always_inline int icmp_quote_parse(const struct pkt4 *p, struct icmp_quote *q)
{
	struct icmphdr *icmp = p->l4;
	void *data_end = p->data_end;
	struct udphdr *ports;
	struct iphdr *ip;
	__u32 qhlen, l4_len;

	if ((void *)(icmp + 1) > data_end || p->l4_len < sizeof(*icmp) || !icmp_is_error(icmp->type))
		return -1;
	ip = (void *)(icmp + 1);
	if ((void *)(ip + 1) > data_end || ip->version != DSRLB_IPV4_VERSION || ip->ihl < DSRLB_IPV4_MIN_IHL)
		return -1;
	if ((ip->frag_off & bpf_htons(DSRLB_IP_OFFSET_MASK)) ||
	    (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP))
		return -1;
	qhlen = ipv4_hdr_len(ip);
	if (p->l4_len < sizeof(*icmp) + qhlen + DSRLB_ICMP_QUOTE_L4_BYTES)
		return -1;
	l4_len = p->l4_len - sizeof(*icmp) - qhlen;
	ports = (void *)ip + qhlen;
	if ((void *)(ports + 1) > data_end)
		return -1;

	/* Always in UDP's 8 bytes; TCP's only if 18 bytes are quoted. */
	q->l4_check_quoted = ip->protocol == IPPROTO_UDP || l4_len >= DSRLB_TCP_CSUM_END;
	q->icmp = icmp;
	q->ip = ip;
	q->ports = ports;
	q->tuple = (struct lb4_tuple){
		.saddr = ip->saddr, .daddr = ip->daddr, .sport = ports->source, .dport = ports->dest,
		.proto = ip->protocol,
	};
	return 0;
}

/*
 * Rewrites one end of the quoted packet to addr:port. Its IPv4 header
 * checksum and, if quoted, its L4 checksum (a UDP 0 stays "none"; a computed
 * 0 is sent as all ones) change incrementally: the quoted L4 checksum is the
 * whole original datagram's, and the difference is the same. Returns the
 * change to the ICMP checksum, which covers every byte changed here.
 * Returns 0 and changes nothing if the quote is not in `data_end`.
 */
static __always_inline __u64 icmp_quote_set(struct icmp_quote *q, void *data_end, int end,
					    __be32 addr, __be16 port)
{
	struct iphdr *ip = q->ip;
	struct udphdr *ports = q->ports;
	__be32 *a;
	__be16 *pt;
	__sum16 *l4_check;
	__sum16 ip_check, l4_old, l4_new;
	__u64 addr_diff, port_diff, icmp_diff;

	if ((void *)(ip + 1) > data_end || (void *)(ports + 1) > data_end)
		return 0;
	a = end == QUOTE_DST ? &ip->daddr : &ip->saddr;
	pt = end == QUOTE_DST ? &ports->dest : &ports->source;
	addr_diff = csum_diff4(*a, addr);
	port_diff = csum_diff2(*pt, port);
	ip_check = csum_apply(ip->check, addr_diff);
	icmp_diff = addr_diff + port_diff + csum_diff2(ip->check, ip_check);

	if (q->l4_check_quoted) {
		l4_check = q->tuple.proto == IPPROTO_UDP ? &ports->check : &((struct tcphdr *)ports)->check;
		if ((void *)(l4_check + 1) > data_end)
			return 0;
		l4_old = *l4_check;
		if (q->tuple.proto != IPPROTO_UDP || l4_old) {
			l4_new = csum_apply(l4_old, addr_diff + port_diff);
			if (q->tuple.proto == IPPROTO_UDP && !l4_new)
				l4_new = DSRLB_UDP_CSUM_MANGLED_0;
			icmp_diff += csum_diff2(l4_old, l4_new);
			*l4_check = l4_new;
		}
	}
	ip->check = ip_check;
	*a = addr;
	*pt = port;
	return icmp_diff;
}

/* Rewrites an address of the outer IPv4 header (`field` points into it), checksum included. */
static __always_inline void ipv4_set_addr(struct iphdr *ip, __be32 *field, __be32 addr)
{
	ip->check = csum_apply(ip->check, csum_diff4(*field, addr));
	*field = addr;
}

/* Applies the changes icmp_quote_set returned to the ICMP checksum. */
static __always_inline void icmp_quote_done(struct icmp_quote *q, void *data_end, __u64 diff)
{
	struct icmphdr *icmp = q->icmp;

	if ((void *)(icmp + 1) <= data_end)
		icmp->checksum = csum_apply(icmp->checksum, diff);
}

#endif /* DSRLB_ICMP_QUOTE_H */
