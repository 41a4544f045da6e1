/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat.h - address/port rewrites with incremental checksum updates:
 * XDP (DNAT to a backend, SNAT to this node, SNAT replies) and tc (reply
 * source back to the frontend, through the skb checksum helpers so a
 * CHECKSUM_PARTIAL skb stays consistent).
 */
#ifndef DSRLB_NAT_H
#define DSRLB_NAT_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <stddef.h>
#include "maps.h"
#include "csum.h"
#include "parse.h"

/*
 * Rewrites one endpoint of the packet, `addr` and `port` pointing into its
 * IPv4 and L4 headers, to `new_addr`:`new_port`. The address change enters
 * the IPv4 checksum and, through the pseudo-header, the L4 one: its
 * difference is computed once for both (RFC 1624).
 */
static __always_inline void nat_rewrite(struct pkt4 *p, __be32 *addr, __be16 *port,
					__be32 new_addr, __be16 new_port)
{
	__u64 addr_diff = csum_diff4(*addr, new_addr);
	__sum16 *check = p->l4_check;
	int udp = p->tuple.proto == IPPROTO_UDP;
	__sum16 l4;

	p->ip->check = csum_apply(p->ip->check, addr_diff);
	/* A UDP checksum of 0 means "none": leave it so; a result of 0 is sent as all ones. */
	if (!udp || *check) {
		l4 = csum_apply(*check, addr_diff + csum_diff2(*port, new_port));
		if (udp && !l4)
			l4 = DSRLB_UDP_CSUM_MANGLED_0;
		*check = l4;
	}
	*addr = new_addr;
	*port = new_port;
}

/* Rewrites the destination (DNAT). Ports share an offset in TCP and UDP. */
static __always_inline void nat_set_dst(struct pkt4 *p, __be32 addr, __be16 port)
{
	struct udphdr *ports = p->l4;

	nat_rewrite(p, &p->ip->daddr, &ports->dest, addr, port);
}

/* Rewrites the source (SNAT, or a reply's source back to the frontend). */
static __always_inline void nat_set_src(struct pkt4 *p, __be32 addr, __be16 port)
{
	struct udphdr *ports = p->l4;

	nat_rewrite(p, &p->ip->saddr, &ports->source, addr, port);
}

/*
 * tc: rewrites the source of the packet whose IPv4 header starts at
 * `ip_off` and L4 header at `l4_off` to addr:port. Returns < 0 on failure.
 */
static __always_inline int nat_skb_set_src(struct __sk_buff *skb, __u32 ip_off, __u32 l4_off,
					   __u8 proto, __be32 old_addr, __be32 addr,
					   __be16 old_port, __be16 port)
{
	__u32 check_off = l4_off + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check)
							  : offsetof(struct udphdr, check));
	/* UDP: a zero checksum stays zero, a result of zero is sent as all ones. */
	__u64 udp_flags = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;

	if (bpf_l4_csum_replace(skb, check_off, old_addr, addr,
				BPF_F_PSEUDO_HDR | udp_flags | sizeof(addr)))
		return -1;
	if (bpf_l4_csum_replace(skb, check_off, old_port, port, udp_flags | sizeof(port)))
		return -1;
	if (bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check), old_addr, addr,
				sizeof(addr)))
		return -1;
	if (bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), &addr, sizeof(addr), 0))
		return -1;
	return bpf_skb_store_bytes(skb, l4_off + offsetof(struct udphdr, source), &port,
				   sizeof(port), 0);
}

#endif /* DSRLB_NAT_H */
