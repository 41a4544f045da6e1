/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * decap.h - the backend node's side of Geneve (docs/design.md §1.3): dsrlb's
 * own packets verified, decapsulated and handed to the stack, or rescued to
 * another node (rescue.h); anybody else's left alone.
 */
#ifndef DSRLB_DECAP_H
#define DSRLB_DECAP_H

#include "maps.h"
#include "encap.h"
#include "fib.h"
#include "icmp_quote.h"
#include "local.h"
#include "parse.h"
#include "rescue.h"
#include "revnat.h"
#include "stats.h"

/*
 * May the decapsulated packet `in` (option type `type`, frontend `fe`) be
 * delivered (local.h)? With the DSR option its reverse-NAT entry is written
 * too (unconfirmed, unless the connection is established: revnat.h),
 * stamped with config.local_epoch: a later packet of the flow whose entry
 * names the same frontend at the same epoch was verified then, and the
 * control plane has removed nothing since, so it skips the two lookups.
 */
static __always_inline int geneve_verify(const struct lb4_tuple *in, const struct lb4_revnat *fe, __u8 type,
					 const struct dsrlb_config *cfg)
{
	/* The epoch is read before the lookups it vouches for. */
	struct lb4_dsr_frontend entry = { .address = fe->address, .port = fe->port, .epoch = cfg->local_epoch };
	const struct lb4_dsr_frontend *cur;
	struct lb4_tuple reply;
	int rc, where;

	if (type != DSRLB_GENEVE_OPT_TYPE_DSR)
		return local_delivery(in, fe, cfg);
	tuple_reverse(in, &reply);
	cur = revnat_find(&reply, &where);
	if (likely(cur && entry.epoch && dsr_same_frontend(cur, &entry)))
		return LOCAL_OK;
	rc = local_delivery(in, fe, cfg);
	if (rc == LOCAL_OK)
		revnat_store(&reply, &entry, cur, where);
	return rc;
}

/*
 * An inner ICMP error (an LB node translated it for a pod, icmp_forward.h)
 * is judged by its quote: the quoted packet is the pod's reply as the pod
 * sent it (pod:port -> client:port, in SNAT mode -> node:port), so the
 * quote's reverse must be deliverable to a local backend of the frontend
 * the option names, and the error must be addressed to that pod. It is no
 * packet of the flow: no reverse-NAT state is written for it, whatever the
 * option type.
 */
static __always_inline int geneve_verify_icmp_error(const struct pkt4 *in, const struct icmp_quote *q,
						    const struct lb4_revnat *fe, const struct dsrlb_config *cfg)
{
	struct lb4_tuple to_pod;

	if (in->ip->daddr != q->tuple.saddr)
		return LOCAL_NOT_BACKEND;
	tuple_reverse(&q->tuple, &to_pod);
	return local_delivery(&to_pod, fe, cfg);
}

/* Why a decapsulated packet may not be delivered (local.h), as a counted drop. */
static __always_inline int geneve_refused(int rc)
{
	if (rc == LOCAL_NOT_FRONTEND)
		return count(DSRLB_STAT_DROP_GENEVE_NOT_FRONTEND, XDP_DROP);
	return count(DSRLB_STAT_DROP_GENEVE_NOT_LOCAL_BACKEND, XDP_DROP);
}

/*
 * Backend node: a Geneve packet to this node's Geneve port. Only dsrlb's own
 * (carrying its option) is touched; it must come from a node, name a
 * frontend this node has, and be addressed to a local backend of that
 * frontend (an inner ICMP error: quote one's reply). Then it loses its outer
 * headers, records reverse-NAT state when it carries the DSR option (never
 * for an ICMP error), and goes to the stack, which routes it to the pod.
 * A DSR packet with a second chance this node cannot place is first offered
 * to rescue() (rescue.h). Anything else dsrlb's is dropped and counted, and
 * writes nothing.
 */
static __always_inline int geneve_decap(struct xdp_md *ctx, const struct pkt4 *p,
					const struct dsrlb_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct geneve_dsrlb_opts o = {};
	struct geneve_hdr *gh = (void *)((struct udphdr *)p->l4 + 1);
	struct ethhdr *inner_eth;
	struct pkt4 in = {};
	struct icmp_quote q;
	__u32 opts_len, inner_off, udp_len, outer_len;
	int rc, verdict = XDP_DROP;

	/* Options are defined for version 0 only; anything shorter or else is not ours. */
	if ((void *)(gh + 1) > data_end || (gh->ver_optlen >> DSRLB_GENEVE_VER_SHIFT) != DSRLB_GENEVE_VERSION)
		return geneve_foreign();
	opts_len = (gh->ver_optlen & DSRLB_GENEVE_OPTLEN_MASK) * 4;
	udp_len = bpf_ntohs(((struct udphdr *)p->l4)->len);
	if (sizeof(struct udphdr) + sizeof(*gh) + opts_len > udp_len)
		return geneve_foreign();
	rc = geneve_options(gh + 1, opts_len, data_end, cfg, &o);
	if (rc == GENEVE_OPTS_FOREIGN)
		return geneve_foreign();

	if (!bpf_map_lookup_elem(&node_addrs, &p->tuple.saddr))
		return count(DSRLB_STAT_DROP_GENEVE_UNKNOWN_NODE, XDP_DROP);
	if (rc != GENEVE_OPTS_OURS)
		return count(DSRLB_STAT_DROP_GENEVE_BAD_OPTION, XDP_DROP);
	if ((gh->flags & DSRLB_GENEVE_FLAG_OAM) || gh->proto != bpf_htons(DSRLB_GENEVE_PROTO_ETH))
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);

	/* The inner frame ends where the UDP datagram does, not in padding. */
	inner_off = sizeof(struct udphdr) + sizeof(*gh) + opts_len;
	inner_eth = (void *)(gh + 1) + opts_len;
	/* TCP/UDP, or an ICMP error an LB node translated for a pod (icmp_forward.h). */
	outer_len = sizeof(struct ethhdr) + ipv4_hdr_len(p->ip) + inner_off;
	rc = parse_ipv4(inner_eth, data_end, udp_len - inner_off, &in);
	if (rc == PARSE_OK) {
		if (o.second.address && rescue(ctx, &in, outer_len, p->tuple.sport, &o, cfg, &verdict) == RESCUE_SENT)
			return verdict;
		rc = geneve_verify(&in.tuple, &o.frontend, o.type, cfg);
	} else if (rc == PARSE_OTHER_PROTO && in.tuple.proto == IPPROTO_ICMP && !icmp_quote_parse(&in, &q)) {
		rc = geneve_verify_icmp_error(&in, &q, &o.frontend, cfg);
	} else {
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);
	}
	if (rc != LOCAL_OK)
		return geneve_refused(rc);

	/* The stack accepts the inner frame only if addressed to this device. */
	eth_copy_macs(inner_eth, p->eth);
	if (bpf_xdp_adjust_head(ctx, outer_len))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(DSRLB_STAT_PASS_DECAP, XDP_PASS);
}

#endif /* DSRLB_DECAP_H */
