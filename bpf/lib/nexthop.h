/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nexthop.h - where a frame for a node goes: the node's address from
 * `nodes`, the egress device, MACs and route MTU from bpf_fib_lookup, kept
 * in the per-CPU node_nexthop cache for DSRLB_NEXTHOP_TTL_JIFFIES. A node
 * removed or re-addressed in `nodes` is noticed at the next refresh.
 */
#ifndef DSRLB_NEXTHOP_H
#define DSRLB_NEXTHOP_H

#include <linux/in.h>
#include <stddef.h>
#include "maps.h"
#include "fib.h"
#include "compiler.h"

_Static_assert(offsetof(struct dsrlb_nexthop, dmac) % 8 == 0 &&
	       offsetof(struct dsrlb_nexthop, smac) == offsetof(struct dsrlb_nexthop, dmac) + DSRLB_ETH_ALEN,
	       "dmac, smac: 12 bytes in wire order, 8-byte aligned");

enum nexthop_result {
	NEXTHOP_OK = 0,
	NEXTHOP_NO_NODE,     /* the node id has no entry in `nodes` */
	NEXTHOP_NO_ROUTE,    /* bpf_fib_lookup failed: no route or neighbour */
};

/* Resolves the route to `node_id` into `nh` (a slot of the cache). */
static __always_inline int nexthop_resolve(struct xdp_md *ctx, const struct dsrlb_config *cfg,
					   __u32 node_id, struct dsrlb_nexthop *nh)
{
	const struct dsrlb_node *node = bpf_map_lookup_elem(&nodes, &node_id);
	struct bpf_fib_lookup fib;
	__u16 mtu = cfg->mtu;
	int rc;

	if (!node)
		return NEXTHOP_NO_NODE;
	/* Asking for a packet of config.mtu bytes reports a smaller route MTU. */
	rc = fib_route(ctx, cfg->node_address, node->address, IPPROTO_UDP, mtu, &fib);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		mtu = fib.mtu_result;
		rc = fib_route(ctx, cfg->node_address, node->address, IPPROTO_UDP, 0, &fib);
	}
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return NEXTHOP_NO_ROUTE;

	nh->node_id = node_id;
	nh->node_address = node->address;
	nh->expires = bpf_jiffies64() + DSRLB_NEXTHOP_TTL_JIFFIES;
	nh->ifindex = fib.ifindex;
	nh->mtu = mtu;
	__builtin_memcpy(nh->smac, fib.smac, DSRLB_ETH_ALEN);
	__builtin_memcpy(nh->dmac, fib.dmac, DSRLB_ETH_ALEN);
	return NEXTHOP_OK;
}

/*
 * The route to `node_id`, from the cache while fresh. `*out` points into
 * this CPU's cache slot: only this CPU writes it, and not before the
 * program that asked is done with it.
 */
static __always_inline int nexthop_to_node(struct xdp_md *ctx, const struct dsrlb_config *cfg,
					   __u32 node_id, const struct dsrlb_nexthop **out)
{
	__u32 slot = node_id & DSRLB_NEXTHOP_SLOT_MASK;
	struct dsrlb_nexthop *nh = bpf_map_lookup_elem(&node_nexthop, &slot);
	int rc;

	if (!nh)
		return NEXTHOP_NO_ROUTE;
	if (unlikely(nh->node_id != node_id || bpf_jiffies64() >= nh->expires)) {
		rc = nexthop_resolve(ctx, cfg, node_id, nh);
		if (rc != NEXTHOP_OK)
			return rc;
	}
	*out = nh;
	return NEXTHOP_OK;
}

#endif /* DSRLB_NEXTHOP_H */
