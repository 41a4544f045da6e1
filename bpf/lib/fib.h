/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fib.h - next hop (egress device, MACs) from the kernel's routing and
 * neighbour tables, for frames XDP sends itself.
 */
#ifndef DSRLB_FIB_H
#define DSRLB_FIB_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include "dsrlb.h"

/*
 * Route lookup for a packet src -> dst of `tot_len` bytes entering on the
 * XDP device. BPF_FIB_LKUP_RET_FRAG_NEEDED leaves the route MTU in
 * fib->mtu_result.
 */
static __always_inline int fib_route(struct xdp_md *ctx, __be32 src, __be32 dst, __u8 proto,
				     __u16 tot_len, struct bpf_fib_lookup *fib)
{
	__builtin_memset(fib, 0, sizeof(*fib));
	fib->family = DSRLB_AF_INET;
	fib->l4_protocol = proto;
	fib->tot_len = tot_len;
	fib->ipv4_src = src;
	fib->ipv4_dst = dst;
	fib->ifindex = ctx->ingress_ifindex;
	return bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);
}

static __always_inline void eth_set_macs(struct ethhdr *eth, const __u8 *smac, const __u8 *dmac)
{
	__builtin_memcpy(eth->h_dest, dmac, DSRLB_ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, DSRLB_ETH_ALEN);
}

/*
 * Writes an Ethernet header's 12 MAC bytes from `macs` (destination then
 * source, as on the wire, 8-byte aligned: struct dsrlb_nexthop.dmac) and its
 * EtherType, in three stores instead of byte by byte.
 */
static __always_inline void eth_set_macs_proto(struct ethhdr *eth, const __u8 *macs, __be16 proto)
{
	*(__u64 *)eth = *(const __u64 *)macs;
	*((__u32 *)eth + 2) = *(const __u32 *)(macs + 8);
	*((__be16 *)eth + 6) = proto;
}

/* Copies the 12 MAC bytes (destination, source) of one Ethernet header to another. */
static __always_inline void eth_copy_macs(struct ethhdr *to, const struct ethhdr *from)
{
	*(__u64 *)to = *(const __u64 *)from;
	*((__u32 *)to + 2) = *((const __u32 *)from + 2);
}

/* Out of the device the route names: back where it came from, or redirected. */
static __always_inline int transmit_on(struct xdp_md *ctx, __u32 ifindex)
{
	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}

#endif /* DSRLB_FIB_H */
