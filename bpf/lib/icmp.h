/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.h - ICMP destination-unreachable replies generated in XDP:
 * fragmentation needed (a client packet too big once encapsulated,
 * docs/design.md §1.7) and port unreachable (a UDP frontend without endpoints).
 *
 * The reply comes from the frontend address the client used: that is the
 * address the client can route back to, and the one its stack matches the
 * quoted header against.
 */
#ifndef DSRLB_ICMP_H
#define DSRLB_ICMP_H

#include <linux/icmp.h>
#include "csum.h"
#include "parse.h"
#include "reply.h"

/*
 * Turns the frame into an ICMP error to the packet's source, quoting its
 * IPv4 header and first 8 payload bytes (RFC 792), to go back out of the
 * ingress device (XDP_TX). `mtu` is the next-hop MTU for FRAG_NEEDED.
 * Returns < 0 if the frame could not be resized.
 */
static __always_inline int icmp_reply(struct xdp_md *ctx, const struct pkt4 *p, __u8 code, __u16 mtu)
{
	__u32 quote_len = ipv4_hdr_len(p->ip) + DSRLB_ICMP_QUOTE_L4_BYTES;
	__u32 frame_len = ctx->data_end - ctx->data;
	__u32 keep = sizeof(struct ethhdr) + quote_len;
	struct reply_addrs r;
	struct icmphdr *icmp;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *data_end;
	__u32 sum;

	/* parse_ipv4 saw an L4 header of at least 8 bytes: the quote exists. */
	if (keep > frame_len)
		return -1;
	reply_addrs_of(&r, p->eth, p->ip);

	/* Cut after the quote, then open room for the new IPv4 and ICMP headers
	 * so the quote is already in place behind them. */
	if (bpf_xdp_adjust_tail(ctx, (int)keep - (int)frame_len))
		return -1;
	if (bpf_xdp_adjust_head(ctx, -(int)(sizeof(*ip) + sizeof(*icmp))))
		return -1;
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = (void *)(eth + 1);
	icmp = (void *)(ip + 1);
	if ((void *)(icmp + 1) > data_end)
		return -1;

	reply_write_headers(eth, ip, &r, IPPROTO_ICMP, sizeof(*ip) + sizeof(*icmp) + quote_len, 0);

	icmp->type = DSRLB_ICMP_DEST_UNREACH;
	icmp->code = code;
	icmp->checksum = 0;
	icmp->un.frag.__unused = 0;
	icmp->un.frag.mtu = bpf_htons(mtu);
	sum = csum_pkt_sum(icmp, sizeof(*icmp) + quote_len, data_end, 0);
	icmp->checksum = csum_finish(sum);
	return 0;
}

#endif /* DSRLB_ICMP_H */
