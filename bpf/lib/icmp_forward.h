/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp_forward.h - XDP: ICMP errors about a flow's packets, arriving at a
 * node (docs/datapath.md, ICMP errors).
 *
 * - An error about a reply (quoted frontend:port -> client:port) from the
 *   client or a router on the way (fragmentation needed: path MTU discovery
 *   from the pod's side) is addressed to the frontend. Its backend is found
 *   as a packet of the flow would find it (lb4_flows, else affinity and
 *   Maglev, nothing recorded); the quote is translated to what the pod sent
 *   (pod:port -> client:port, in SNAT mode pod:port -> node:port) and the
 *   outer destination to the pod, then it is delivered to a local pod or
 *   encapsulated to the backend's node with dsrlb's option as the flow's
 *   packets carry it (DSR option naming the frontend, or the SNAT marker);
 *   that node delivers it only if the quote is its local backend's reply
 *   (encap.h) and records nothing for it.
 * - SNAT mode: a pod's error about a packet it got from node:port (quoted
 *   node:port -> pod:port) is addressed to this node; lb4_snat's reply entry
 *   turns it into the client's view (client:port -> frontend:port, from the
 *   frontend) and it goes to the client. (A pod's errors in DSR mode leave
 *   through tc egress: icmp_error.h.)
 */
#ifndef DSRLB_ICMP_FORWARD_H
#define DSRLB_ICMP_FORWARD_H

#include "maps.h"
#include "compiler.h"
#include "config.h"
#include "encap.h"
#include "fib.h"
#include "forward.h"
#include "hash.h"
#include "icmp_quote.h"
#include "lb.h"
#include "nexthop.h"
#include "parse.h"
#include "snat.h"
#include "stats.h"

/* The backend the client tuple's packets go to; LB_OK or why there is none. */
static __always_inline int icmp_flow_backend(const struct lb4_tuple *client, struct lb_choice *ch)
{
	const struct lb4_service *svc;
	struct lb_flow_state flow;
	__u64 now = 0;
	int rc;

	lb_flow_read(client, &flow);
	rc = lb_established(&flow, client->saddr, 0, ch);
	if (rc == LB_EST_OK)
		return LB_OK;
	if (rc == LB_EST_DENIED)
		return LB_NO_BACKEND;
	svc = lb_service(client);
	if (!svc)
		return -1;
	if ((svc->flags & DSRLB_SVC_F_SOURCE_RANGES) && !lb_source_allowed(svc->service_id, client->saddr))
		return LB_NO_BACKEND;
	if (lb_flow_backend(svc->service_id, &flow, 0, ch))
		return LB_OK;
	return lb_pick(svc, client, flow_hash(client, 1), 0, &now, ch);
}

/*
 * Translates the error for the backend: quoted source frontend -> pod, outer
 * destination -> pod; in SNAT mode also quoted destination client -> node:port
 * and outer source -> this node, as the pod's connection knows them.
 * Returns < 0 when a SNAT flow has no lb4_snat entry.
 */
static __always_inline int icmp_translate_for_backend(struct pkt4 *p, struct icmp_quote *q,
						      const struct lb4_tuple *client,
						      const struct lb4_backend *be,
						      const struct dsrlb_config *cfg, int snat)
{
	const struct lb4_snat_entry *e;
	struct lb4_snat_entry s;
	__u64 diff;
	int where;

	if (snat) {
		e = snat_find(client, &where);
		if (!e)
			return -1;
		s = *e;
	}
	diff = icmp_quote_set(q, p->data_end, QUOTE_SRC, be->address, be->port);
	if (snat) {
		diff += icmp_quote_set(q, p->data_end, QUOTE_DST, s.saddr, s.sport);
		ipv4_set_addr(p->ip, &p->ip->saddr, cfg->node_address);
	}
	icmp_quote_done(q, p->data_end, diff);
	ipv4_set_addr(p->ip, &p->ip->daddr, be->address);
	return 0;
}

/* The error about a reply of `client`'s flow goes to that flow's pod. */
static __always_inline int icmp_to_backend(struct xdp_md *ctx, struct pkt4 *p, struct icmp_quote *q,
					   const struct lb4_tuple *client, const struct dsrlb_config *cfg)
{
	__u32 hash = flow_hash(client, 1);
	int dsr = forward_dsr(cfg, client->proto);
	/* dsrlb's option, as on the flow's packets: the backend node accepts
	 * nothing else, and judges an error by its quote (encap.h). */
	struct encap_params e = {
		.sport = DSRLB_GENEVE_SPORT_BASE | (hash & DSRLB_GENEVE_SPORT_MASK),
		.tos = p->ip->tos,
		.opt_type = dsr ? DSRLB_GENEVE_OPT_TYPE_DSR : DSRLB_GENEVE_OPT_TYPE_SNAT,
		.inner_ip_len = p->ip_len,
		.frontend = { .address = client->daddr, .port = client->dport },
	};
	const struct dsrlb_nexthop *nh;
	struct lb_choice ch = {};
	int rc;

	if (lb_port_unused(client))
		return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
	rc = icmp_flow_backend(client, &ch);
	if (rc < 0)
		return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
	if (rc != LB_OK)
		return count(DSRLB_STAT_DROP_ICMP_NO_BACKEND, XDP_DROP);

	if (ch.backend.node_id == cfg->node_id) {
		/* Local backends are DNATed only, in every mode. */
		icmp_translate_for_backend(p, q, client, &ch.backend, cfg, 0);
		return count(DSRLB_STAT_ICMP_TO_BACKEND, XDP_PASS);
	}
	rc = nexthop_to_node(ctx, cfg, ch.backend.node_id, &nh);
	if (unlikely(rc != NEXTHOP_OK))
		return forward_no_route(rc);
	/* An error about an error is never sent: too big is dropped. */
	if (nh->mtu && p->ip_len + DSRLB_ENCAP_OVERHEAD > nh->mtu)
		return count(DSRLB_STAT_DROP_TOO_BIG, XDP_DROP);
	if (icmp_translate_for_backend(p, q, client, &ch.backend, cfg, !dsr))
		return count(DSRLB_STAT_DROP_ICMP_NO_BACKEND, XDP_DROP);
	if (geneve_encap(ctx, cfg, nh, &e))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(DSRLB_STAT_ICMP_TO_BACKEND, transmit_on(ctx, nh->ifindex));
}

/* SNAT mode: the pod's error about node:port -> pod:port, to the client as the frontend's. */
static __always_inline int icmp_snat_to_client(struct xdp_md *ctx, struct pkt4 *p, struct icmp_quote *q,
					       const struct lb4_snat_entry *e)
{
	__be32 pod = q->tuple.daddr;
	struct bpf_fib_lookup fib;
	__u64 diff;

	if (fib_route(ctx, e->saddr, e->daddr, IPPROTO_ICMP, p->ip_len, &fib) != BPF_FIB_LKUP_RET_SUCCESS)
		return count(DSRLB_STAT_PASS_FIB_FAILED, XDP_PASS);
	diff = icmp_quote_set(q, p->data_end, QUOTE_SRC, e->daddr, e->dport);
	diff += icmp_quote_set(q, p->data_end, QUOTE_DST, e->saddr, e->sport);
	icmp_quote_done(q, p->data_end, diff);
	if (p->ip->saddr == pod)
		ipv4_set_addr(p->ip, &p->ip->saddr, e->saddr);
	ipv4_set_addr(p->ip, &p->ip->daddr, e->daddr);
	eth_set_macs(p->eth, fib.smac, fib.dmac);
	return count(DSRLB_STAT_ICMP_TO_CLIENT, transmit_on(ctx, fib.ifindex));
}

/* An ICMP packet (parse_ipv4 said PARSE_OTHER_PROTO): an error about a flow, or the stack's. */
static __always_inline int icmp_error_in(struct xdp_md *ctx, struct pkt4 *p)
{
	const struct dsrlb_config *cfg = config_get();
	const struct lb4_snat_entry *e;
	struct lb4_snat_entry snat;
	struct icmp_quote q;
	struct lb4_tuple other;
	int where;

	if (!cfg || icmp_quote_parse(p, &q))
		return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
	tuple_reverse(&q.tuple, &other);
	if (q.tuple.saddr == cfg->node_address && snat_port_in_range(cfg, q.tuple.sport)) {
		other.flags = DSRLB_TUPLE_F_REPLY;
		e = snat_find(&other, &where);
		if (!e)
			return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
		snat = *e;
		return icmp_snat_to_client(ctx, p, &q, &snat);
	}
	return icmp_to_backend(ctx, p, &q, &other, cfg);
}

#endif /* DSRLB_ICMP_FORWARD_H */
