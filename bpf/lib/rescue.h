/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * rescue.h - the backend node's half of the stateless LB node
 * (docs/datapath.md, "Stateless LB node"): a packet of a flow this node does
 * not know, carrying a second chance, goes on to the second chance's node
 * (re-encapsulated with the DSR option alone, so it can never be sent on
 * again) instead of reaching a pod that would reset it.
 */
#ifndef DSRLB_RESCUE_H
#define DSRLB_RESCUE_H

#include "maps.h"
#include "compiler.h"
#include "encap.h"
#include "flow_known.h"
#include "hash.h"
#include "lb.h"
#include "local.h"
#include "maglev.h"
#include "nat.h"
#include "nexthop.h"
#include "parse.h"
#include "stats.h"
#include "tcp.h"

enum rescue_result {
	RESCUE_DELIVER = 0, /* deliver here as without a second chance (`in` may now name a local backend) */
	RESCUE_SENT,        /* sent on, or dropped: the verdict is in *verdict */
};

static __always_inline int backend_is(const struct lb_choice *ch, const struct lb4_revnat *b)
{
	return ch->backend.address == b->address && ch->backend.port == b->port;
}

/*
 * The second chance `sc` of a packet `in` (client -> pod) that names
 * frontend `fe`, checked against this node's own tables (a service's tables
 * are the same on every node): the backend the flow's slot holds in the
 * previous table, or in the current one (an LB node a change behind), of the
 * frontend's service. Affinity services are balanced with state on the LB
 * node and never carry one. Fills `out`.
 */
static __always_inline int second_chance_valid(const struct lb4_tuple *in, const struct lb4_revnat *fe,
					       const struct lb4_revnat *sc, const struct dsrlb_config *cfg,
					       struct lb_choice *out)
{
	const struct lb4_service *svc = local_frontend(fe, in->proto, cfg);
	struct lb4_tuple client = {
		.saddr = in->saddr, .daddr = fe->address, .sport = in->sport, .dport = fe->port, .proto = in->proto,
	};
	__u32 hash;

	if (!svc || (svc->flags & DSRLB_SVC_F_AFFINITY))
		return 0;
	hash = flow_hash(&client, 1);
	if (lb_backend(maglev_prev_backend(svc->service_id, hash), out) && backend_is(out, sc))
		return 1;
	return lb_backend(maglev_backend(svc, hash), out) && backend_is(out, sc);
}

/* Points the decapsulated packet at backend `be` (checksums fixed). */
static __always_inline void rescue_dnat(struct pkt4 *in, const struct lb4_backend *be)
{
	nat_set_dst(in, be->address, be->port);
	in->tuple.daddr = be->address;
	in->tuple.dport = be->port;
}

/*
 * A DSR packet with a second chance `o->second`, decapsulated view `in`
 * (its Ethernet header `inner_off` bytes into the frame), outer UDP source
 * port `sport`. A SYN, a flow this node knows, or a second chance its tables
 * do not give, is delivered as without it; a backend on this node takes it
 * by DNAT; any other is encapsulated to its node with the DSR option alone.
 */
static __always_inline int rescue(struct xdp_md *ctx, struct pkt4 *in, __u32 inner_off, __be16 sport,
				  const struct geneve_dsrlb_opts *o, const struct dsrlb_config *cfg, int *verdict)
{
	const struct tcphdr *tcp = pkt_tcp(in);
	struct encap_params e = {
		.sport = bpf_ntohs(sport),
		.opt_type = DSRLB_GENEVE_OPT_TYPE_DSR,
		.frontend = o->frontend,
	};
	const struct dsrlb_nexthop *nh;
	struct lb_choice ch = {};

	if (tcp && tcp_is_syn(tcp)) {
		stat_inc(DSRLB_STAT_RESCUE_SYN);
		return RESCUE_DELIVER;
	}
	if (backend_flow_known(&in->tuple)) {
		stat_inc(DSRLB_STAT_RESCUE_KNOWN);
		return RESCUE_DELIVER;
	}
	/* UDP to a terminating backend: never sent so (lb.h), so a forgery. */
	if (!second_chance_valid(&in->tuple, &o->frontend, &o->second, cfg, &ch) ||
	    (!tcp && backend_terminating(&ch.backend))) {
		stat_inc(DSRLB_STAT_RESCUE_MISMATCH);
		return RESCUE_DELIVER;
	}
	if (ch.backend.node_id == cfg->node_id) {
		rescue_dnat(in, &ch.backend);
		stat_inc(DSRLB_STAT_RESCUE_LOCAL);
		return RESCUE_DELIVER;
	}
	if (nexthop_to_node(ctx, cfg, ch.backend.node_id, &nh) != NEXTHOP_OK) {
		stat_inc(DSRLB_STAT_RESCUE_NO_ROUTE);
		return RESCUE_DELIVER;
	}
	rescue_dnat(in, &ch.backend);
	e.tos = in->ip->tos;
	e.inner_ip_len = in->ip_len;
	/* The outer headers go, new ones (DSR option only) take their place. */
	if (bpf_xdp_adjust_head(ctx, inner_off) || geneve_encap(ctx, cfg, nh, &e))
		*verdict = count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	else
		*verdict = count(DSRLB_STAT_TX_RESCUE, transmit_on(ctx, nh->ifindex));
	return RESCUE_SENT;
}

#endif /* DSRLB_RESCUE_H */
