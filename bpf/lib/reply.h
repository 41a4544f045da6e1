/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * reply.h - the Ethernet and IPv4 headers of a frame xdp_lb sends back to the
 * client itself (TCP RST, ICMP unreachable / fragmentation-needed): from the
 * frontend the client addressed, to the MAC the client's frame came from.
 */
#ifndef DSRLB_REPLY_H
#define DSRLB_REPLY_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include "dsrlb.h"
#include "csum.h"

struct reply_addrs {
	__u8   client_mac[DSRLB_ETH_ALEN];
	__u8   our_mac[DSRLB_ETH_ALEN];
	__be32 client;
	__be32 frontend;
};

/* Saved from the client's frame before it is resized. */
static __always_inline void reply_addrs_of(struct reply_addrs *r, const struct ethhdr *eth, const struct iphdr *ip)
{
	__builtin_memcpy(r->client_mac, eth->h_source, DSRLB_ETH_ALEN);
	__builtin_memcpy(r->our_mac, eth->h_dest, DSRLB_ETH_ALEN);
	r->client = ip->saddr;
	r->frontend = ip->daddr;
}

/* ip_len: IPv4 total length; frag_off: network order (DF or 0). */
static __always_inline void reply_write_headers(struct ethhdr *eth, struct iphdr *ip, const struct reply_addrs *r,
						__u8 protocol, __u16 ip_len, __be16 frag_off)
{
	__builtin_memcpy(eth->h_dest, r->client_mac, DSRLB_ETH_ALEN);
	__builtin_memcpy(eth->h_source, r->our_mac, DSRLB_ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);

	ip->version = DSRLB_IPV4_VERSION;
	ip->ihl = DSRLB_IPV4_MIN_IHL;
	ip->tos = 0;
	ip->tot_len = bpf_htons(ip_len);
	ip->id = 0;
	ip->frag_off = frag_off;
	ip->ttl = DSRLB_REPLY_TTL;
	ip->protocol = protocol;
	ip->saddr = r->frontend;
	ip->daddr = r->client;
	csum_set_ipv4(ip);
}

#endif /* DSRLB_REPLY_H */
