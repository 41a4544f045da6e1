/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * forward.h - the LB node's path for a packet to a frontend (docs/design.md
 * §1.1-1.2, 1.5-1.7): select a backend, then deliver locally (DNAT), or
 * encapsulate to the backend's node (DSR, or SNAT in snat/hybrid mode),
 * or answer the client (no endpoints, too big). Also SNAT-mode replies.
 */
#ifndef DSRLB_FORWARD_H
#define DSRLB_FORWARD_H

#include "maps.h"
#include "compiler.h"
#include "encap.h"
#include "fib.h"
#include "flow_confirm.h"
#include "flow_known.h"
#include "hash.h"
#include "icmp.h"
#include "lb.h"
#include "nexthop.h"
#include "nat.h"
#include "parse.h"
#include "ratelimit.h"
#include "revnat.h"
#include "snat.h"
#include "stats.h"
#include "tcp.h"

/* A client packet that will not fit once encapsulated (docs/design.md §1.7). */
static __always_inline int forward_too_big(struct xdp_md *ctx, const struct pkt4 *p, __u32 mtu,
					   __u32 overhead)
{
	__u32 usable = DSRLB_IPV4_MIN_MTU;

	if (!(p->ip->frag_off & bpf_htons(DSRLB_IP_DF)))
		return count(DSRLB_STAT_DROP_TOO_BIG, XDP_DROP);
	if (!reply_allowed())
		return count(DSRLB_STAT_DROP_REPLY_LIMITED, XDP_DROP);
	if (mtu >= overhead + DSRLB_IPV4_MIN_MTU)
		usable = mtu - overhead;
	if (icmp_reply(ctx, p, DSRLB_ICMP_FRAG_NEEDED, usable))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(DSRLB_STAT_TX_TOO_BIG, XDP_TX);
}

/* noEndpointsAction: reject (RST / ICMP port unreachable) or drop. */
static __always_inline int forward_no_endpoints(struct xdp_md *ctx, const struct pkt4 *p,
						const struct lb4_service *svc)
{
	const struct tcphdr *tcp = pkt_tcp(p);
	int rc;

	if (!(svc->flags & DSRLB_SVC_F_NOEP_REJECT))
		return count(DSRLB_STAT_DROP_NO_ENDPOINTS, XDP_DROP);
	if (!reply_allowed())
		return count(DSRLB_STAT_DROP_REPLY_LIMITED, XDP_DROP);
	if (tcp)
		rc = tcp_reset_reply(ctx, p, tcp);
	else
		rc = icmp_reply(ctx, p, DSRLB_ICMP_PORT_UNREACH, 0);
	if (rc)
		return count(DSRLB_STAT_DROP_NO_ENDPOINTS, XDP_DROP);
	return count(DSRLB_STAT_TX_REJECT, XDP_TX);
}

/*
 * Backend on this node: DNAT, reverse-NAT state (stamped with the epoch: the
 * frontend and the local backend are both known good), and the stack delivers.
 */
static __always_inline int forward_local(struct pkt4 *p, const struct dsrlb_config *cfg,
					 const struct lb4_backend *be)
{
	struct lb4_dsr_frontend frontend = {
		.address = p->tuple.daddr, .port = p->tuple.dport, .epoch = cfg->local_epoch,
	};
	struct lb4_tuple delivered = p->tuple;

	delivered.daddr = be->address;
	delivered.dport = be->port;
	dsr_revnat_record(&delivered, &frontend);
	nat_set_dst(p, be->address, be->port);
	return count(DSRLB_STAT_PASS_LOCAL, XDP_PASS);
}

/* No way to the backend's node: unknown node (drop), or no route (the stack decides). */
static __always_inline int forward_no_route(int rc)
{
	if (rc == NEXTHOP_NO_NODE)
		return count(DSRLB_STAT_DROP_NO_NODE, XDP_DROP);
	return count(DSRLB_STAT_PASS_FIB_FAILED, XDP_PASS);
}

/*
 * Backend on another node: DNAT (and SNAT unless DSR), Geneve to that node,
 * with the second-chance option when `second` is a backend (DSR only; left
 * out, and counted, when the packet would not fit with it). Nothing is
 * rewritten until the route is known, so a failed lookup hands the client's
 * packet to the stack as it came. `hash`: flow_hash(tuple, 1).
 */
static __always_inline int forward_remote(struct xdp_md *ctx, struct pkt4 *p,
					  const struct dsrlb_config *cfg, const struct lb4_backend *be,
					  int dsr, __u32 hash, const struct lb4_backend *second)
{
	struct encap_params e = {
		.sport = DSRLB_GENEVE_SPORT_BASE | (hash & DSRLB_GENEVE_SPORT_MASK),
		.tos = p->ip->tos,
		.opt_type = dsr ? DSRLB_GENEVE_OPT_TYPE_DSR : DSRLB_GENEVE_OPT_TYPE_SNAT,
		.inner_ip_len = p->ip_len,
		.frontend = { .address = p->tuple.daddr, .port = p->tuple.dport },
	};
	const struct dsrlb_nexthop *nh;
	struct lb4_snat_entry snat;
	int rc;

	rc = nexthop_to_node(ctx, cfg, be->node_id, &nh);
	if (unlikely(rc != NEXTHOP_OK))
		return forward_no_route(rc);
	if (unlikely(nh->mtu && p->ip_len + DSRLB_ENCAP_OVERHEAD > nh->mtu))
		return forward_too_big(ctx, p, nh->mtu, DSRLB_ENCAP_OVERHEAD);
	if (second) {
		if (unlikely(nh->mtu && p->ip_len + DSRLB_ENCAP_OVERHEAD_MAX > nh->mtu)) {
			stat_inc(DSRLB_STAT_SECOND_CHANCE_TOO_BIG);
		} else {
			e.second.address = second->address;
			e.second.port = second->port;
			stat_inc(DSRLB_STAT_SECOND_CHANCE);
		}
	}

	if (!dsr) {
		if (unlikely(snat_forward(p, be, cfg, hash, &snat)))
			return count(DSRLB_STAT_DROP_SNAT_PORTS, XDP_DROP);
		nat_set_src(p, snat.saddr, snat.sport);
	}
	nat_set_dst(p, be->address, be->port);
	if (unlikely(geneve_encap(ctx, cfg, nh, &e)))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(dsr ? DSRLB_STAT_TX_ENCAP : DSRLB_STAT_TX_SNAT, transmit_on(ctx, nh->ifindex));
}

/* No backend for the packet: no endpoints, a terminating or missing backend. */
static __always_inline int forward_no_backend(struct xdp_md *ctx, const struct pkt4 *p,
					      const struct lb4_service *svc, int rc)
{
	if (rc == LB_NO_ENDPOINTS)
		return forward_no_endpoints(ctx, p, svc);
	if (rc == LB_TERMINATING)
		return count(DSRLB_STAT_DROP_TERMINATING, XDP_DROP);
	return count(DSRLB_STAT_DROP_NO_BACKEND, XDP_DROP);
}

static __always_inline int forward_dsr(const struct dsrlb_config *cfg, __u8 proto)
{
	return cfg->mode == DSRLB_MODE_DSR || (cfg->mode == DSRLB_MODE_HYBRID && proto == IPPROTO_TCP);
}

/*
 * DSR to a service without affinity: no per-flow state on this node. The
 * current table's backend takes the packet; a packet that is no SYN, whose
 * slot held another backend in the previous table, carries that one as its
 * second chance, which the backend node follows for flows it does not know
 * (rescue.h). When the current backend is here, this node is that backend
 * node: a flow it does not know goes straight to the second chance.
 */
static __always_inline int lb_forward_stateless(struct xdp_md *ctx, struct pkt4 *p, const struct dsrlb_config *cfg,
						const struct lb4_service *svc, int new_conn, __u32 hash)
{
	struct lb_choice ch = {}, prev = {};
	struct lb4_tuple delivered;
	int second = 0;
	__u32 entry, id;

	if (unlikely(!svc->backend_count)) {
		/* Only terminating backends (or none) left: what the previous table gives
		 * carries existing TCP connections on; anything new, and UDP (whose new
		 * flows cannot be told from old ones), gets the no-endpoints action. */
		if (new_conn || p->tuple.proto != IPPROTO_TCP ||
		    !lb_backend(maglev_prev_backend(svc->service_id, hash), &ch))
			return forward_no_endpoints(ctx, p, svc);
		if (ch.backend.node_id == cfg->node_id)
			return forward_local(p, cfg, &ch.backend);
		return forward_remote(ctx, p, cfg, &ch.backend, 1, hash, NULL);
	}
	entry = maglev_entry(svc, hash);
	id = entry & DSRLB_MAGLEV_ID_MASK;
	if (unlikely(!lb_backend(id, &ch)))
		return count(DSRLB_STAT_DROP_NO_BACKEND, XDP_DROP);
	if (new_conn) {
		if (unlikely(backend_terminating(&ch.backend)))
			return count(DSRLB_STAT_DROP_TERMINATING, XDP_DROP);
	} else if (entry & DSRLB_MAGLEV_F_MOVED) {
		/* Only a slot the last change moved has a second chance to look up. */
		second = lb_second_chance(svc->service_id, hash, id, p->tuple.proto, &prev);
	}
	if (ch.backend.node_id != cfg->node_id)
		return forward_remote(ctx, p, cfg, &ch.backend, 1, hash, second ? &prev.backend : NULL);
	delivered = p->tuple;
	delivered.daddr = ch.backend.address;
	delivered.dport = ch.backend.port;
	if (!second || backend_flow_known(&delivered))
		return forward_local(p, cfg, &ch.backend);
	if (prev.backend.node_id == cfg->node_id) {
		stat_inc(DSRLB_STAT_RESCUE_LOCAL);
		return forward_local(p, cfg, &prev.backend);
	}
	stat_inc(DSRLB_STAT_TX_RESCUE);
	return forward_remote(ctx, p, cfg, &prev.backend, 1, hash, NULL);
}

/*
 * A packet that may be for a frontend. DSR flows of services without
 * affinity take the stateless path (lb_forward_stateless). Anything else
 * keeps flow state in lb4_flows: an established flow whose frontend still
 * stands is forwarded on its entry and lb4_frontends alone; the rest look
 * their frontend up in lb4_services: source ranges, then the flow table,
 * affinity and Maglev (lb_select).
 */
static __always_inline int lb_forward(struct xdp_md *ctx, struct pkt4 *p, const struct dsrlb_config *cfg)
{
	const struct tcphdr *tcp = pkt_tcp(p);
	int new_conn = tcp && tcp_is_syn(tcp);
	int dsr = forward_dsr(cfg, p->tuple.proto);
	__u8 seen = flow_state_seen(tcp);
	__u32 hash = flow_hash(&p->tuple, 1);
	const struct lb4_service *svc;
	/* Zeroed: the paths that leave them unset must not hand the verifier undefined registers. */
	struct lb_flow_state flow = {};
	struct lb_choice ch = {};
	int rc;

	if (!dsr) {
		lb_flow_read(&p->tuple, &flow);
		rc = lb_established(&flow, p->tuple.saddr, new_conn, &ch);
		if (rc != LB_EST_MISS) {
			stat_inc(DSRLB_STAT_SERVICE_HIT);
			if (unlikely(rc == LB_EST_DENIED))
				return count(DSRLB_STAT_DROP_SOURCE_RANGE, XDP_DROP);
			if (unlikely(flow_next_state(flow.entry.state, seen) != flow.entry.state))
				lb_flow_set_state(&flow, flow_next_state(flow.entry.state, seen));
			goto deliver;
		}
	}
	svc = lb_service(&p->tuple);
	/* Socket-only entries ({0.0.0.0, nodePort}) are no frontend on the wire. */
	if (!svc || unlikely(svc->flags & DSRLB_SVC_F_SOCKET_ONLY))
		return count(DSRLB_STAT_PASS_NOT_SERVICE, XDP_PASS);
	stat_inc(DSRLB_STAT_SERVICE_HIT);
	if (unlikely((svc->flags & DSRLB_SVC_F_SOURCE_RANGES) &&
		     !lb_source_allowed(svc->service_id, p->tuple.saddr)))
		return count(DSRLB_STAT_DROP_SOURCE_RANGE, XDP_DROP);
	if (dsr) {
		if (likely(!(svc->flags & DSRLB_SVC_F_AFFINITY)))
			return lb_forward_stateless(ctx, p, cfg, svc, new_conn, hash);
		lb_flow_read(&p->tuple, &flow);
	}
	rc = lb_select(svc, &p->tuple, &flow, new_conn, seen, hash, &ch);
	if (unlikely(rc != LB_OK))
		return forward_no_backend(ctx, p, svc, rc);

deliver:
	if (ch.backend.node_id == cfg->node_id)
		return forward_local(p, cfg, &ch.backend);
	return forward_remote(ctx, p, cfg, &ch.backend, dsr, hash, NULL);
}

/*
 * SNAT mode: a pod's reply to node:port goes back to the client from the
 * frontend; what it says of the connection moves its state (`where`: enum
 * table_where of its entry `e`; flow_confirm.h).
 */
static __always_inline int snat_reply(struct xdp_md *ctx, struct pkt4 *p,
				      const struct lb4_snat_entry *e, int where)
{
	struct bpf_fib_lookup fib;

	flow_track_snat_reply(p, e, where);
	if (fib_route(ctx, e->saddr, e->daddr, p->tuple.proto, p->ip_len, &fib) !=
	    BPF_FIB_LKUP_RET_SUCCESS)
		return count(DSRLB_STAT_PASS_FIB_FAILED, XDP_PASS);
	nat_set_src(p, e->saddr, e->sport);
	nat_set_dst(p, e->daddr, e->dport);
	eth_set_macs(p->eth, fib.smac, fib.dmac);
	return count(DSRLB_STAT_TX_SNAT_REPLY, transmit_on(ctx, fib.ifindex));
}

#endif /* DSRLB_FORWARD_H */
