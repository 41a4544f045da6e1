/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * encap.h - Geneve (RFC 8926) with the DSR option (docs/design.md §1.2, §1.3):
 * encapsulation on the LB node, validation and decapsulation on the
 * backend node.
 */
#ifndef DSRLB_ENCAP_H
#define DSRLB_ENCAP_H

#include "maps.h"
#include "csum.h"
#include "fib.h"
#include "icmp_quote.h"
#include "local.h"
#include "nat.h"
#include "parse.h"
#include "revnat.h"
#include "stats.h"

struct geneve_hdr {
	__u8   ver_optlen;  /* Ver(2) | Opt Len(6), in 4-byte words */
	__u8   flags;       /* O | C | reserved */
	__be16 proto;
	__u8   vni[3];
	__u8   reserved;
};

struct geneve_opt_hdr {
	__be16 opt_class;
	__u8   type;
	__u8   len;         /* R(3) | Length(5), in 4-byte words, header excluded */
};

/* The DSR option: the frontend the reply must come from. */
struct geneve_dsr_opt {
	struct geneve_opt_hdr hdr;
	__be32 address;
	__be16 port;
	__u16  pad;
};

/* Everything between the outer UDP header and the inner Ethernet header. */
struct geneve_dsr_hdr {
	struct geneve_hdr geneve;
	struct geneve_dsr_opt opt;
};

_Static_assert(sizeof(struct geneve_hdr) == DSRLB_GENEVE_HDR_SIZE, "Geneve header");
_Static_assert(sizeof(struct geneve_dsr_opt) == DSRLB_GENEVE_DSR_OPT_SIZE, "DSR option");
_Static_assert(sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct udphdr) +
	       sizeof(struct geneve_dsr_hdr) == DSRLB_ENCAP_OVERHEAD, "encap overhead");

/* What the outer headers of an encapsulated frame say (besides the route). */
struct encap_params {
	__u16  sport;         /* outer UDP source port, host order */
	__u8   tos;           /* copied from the inner header */
	__u8   opt_type;      /* DSRLB_GENEVE_OPT_TYPE_DSR or _SNAT */
	__u32  inner_ip_len;  /* inner IPv4 total length */
	struct lb4_revnat frontend; /* the option's payload */
};

/*
 * Prepends outer Ethernet / IPv4 / UDP / Geneve / dsrlb option to the frame
 * (its Ethernet header becomes the inner one). Returns < 0 without headroom.
 *
 * The headers are written in whole words (packet stores need no alignment
 * on the architectures XDP runs natively on), and the outer IPv4 checksum
 * is summed from the words as they are built, never read back.
 */
static __always_inline int geneve_encap(struct xdp_md *ctx, const struct dsrlb_config *cfg,
					const struct dsrlb_nexthop *nh,
					const struct encap_params *e)
{
	__u32 overhead = DSRLB_ENCAP_OVERHEAD;
	__u32 outer_len = e->inner_ip_len + overhead;
	__u32 ver_tos_len, id_frag, ttl_proto;
	struct geneve_dsr_opt *opt;
	struct geneve_hdr *gh;
	struct ethhdr *eth;
	struct udphdr *udp;
	struct iphdr *ip;
	void *data_end;
	__u64 sum;

	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return -1;
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	gh = (void *)(udp + 1);
	opt = (void *)(gh + 1);
	if ((void *)(opt + 1) > data_end)
		return -1;

	eth_set_macs_proto(eth, nh->dmac, bpf_htons(ETH_P_IP));

	/* Version 4, IHL 5, the inner TOS; id 0, DF; TTL, UDP, checksum below. */
	ver_tos_len = bpf_htonl((DSRLB_IPV4_VERSION << 28) | (DSRLB_IPV4_MIN_IHL << 24) |
				((__u32)e->tos << 16) | (outer_len & 0xffff));
	id_frag = bpf_htonl(DSRLB_IP_DF);
	ttl_proto = bpf_htonl((DSRLB_OUTER_TTL << 24) | (IPPROTO_UDP << 16));
	sum = (__u64)ver_tos_len + id_frag + ttl_proto + cfg->node_address + nh->node_address;
	*(__u32 *)ip = ver_tos_len;
	*((__u32 *)ip + 1) = id_frag;
	*((__u32 *)ip + 2) = ttl_proto;
	ip->check = (__sum16)~csum_fold64(sum);
	ip->saddr = cfg->node_address;
	ip->daddr = nh->node_address;

	/* Checksum 0: allowed for UDP over IPv4; the inner packet has its own. */
	*(__u32 *)udp = bpf_htonl(((__u32)e->sport << 16) | bpf_ntohs(cfg->geneve_port));
	*((__u32 *)udp + 1) = bpf_htonl((outer_len - sizeof(*ip)) << 16);

	/* VNI 0, Opt Len 3 words, C bit (the option is critical). */
	*((__u32 *)gh + 1) = 0;
	*(__u32 *)gh = bpf_htonl(((DSRLB_GENEVE_DSR_OPT_SIZE / 4) << 24) |
				 (DSRLB_GENEVE_FLAG_CRITICAL << 16) | DSRLB_GENEVE_PROTO_ETH);
	*(__u32 *)opt = bpf_htonl(((__u32)cfg->opt_class << 16) | ((__u32)e->opt_type << 8) |
				  DSRLB_GENEVE_OPT_LEN_WORDS);
	opt->address = e->frontend.address;
	*((__u32 *)opt + 2) = bpf_htonl((__u32)bpf_ntohs(e->frontend.port) << 16);
	return 0;
}

static __always_inline int geneve_for_us(const struct pkt4 *p, const struct dsrlb_config *cfg)
{
	return p->tuple.proto == IPPROTO_UDP && p->tuple.dport == cfg->geneve_port &&
	       p->tuple.daddr == cfg->node_address;
}

enum geneve_opt_result {
	GENEVE_OPTS_FOREIGN = 0,  /* no dsrlb option: somebody else's Geneve */
	GENEVE_OPTS_OURS,         /* dsrlb's option, well formed, nothing unknown critical */
	GENEVE_OPTS_BAD,          /* dsrlb's option, but malformed or with unknown critical options */
};

/* One of dsrlb's option types (DSR or SNAT marker) in dsrlb's class. */
static __always_inline int geneve_opt_is_ours(const struct geneve_opt_hdr *opt, const struct dsrlb_config *cfg)
{
	return opt->opt_class == bpf_htons(cfg->opt_class) &&
	       (opt->type == DSRLB_GENEVE_OPT_TYPE_DSR || opt->type == DSRLB_GENEVE_OPT_TYPE_SNAT);
}

/*
 * Walks the options for dsrlb's (DSR or SNAT marker: `*type`, `frontend`).
 * Without one the packet is not dsrlb's, whatever else it holds. With one,
 * a wrong size, a malformed length, more options than we scan, or any other
 * critical option makes it unacceptable (RFC 8926 §3.5: a tunnel endpoint
 * must drop packets with critical options it does not know).
 */
static __always_inline int geneve_options(void *opts, __u32 opts_len, void *data_end,
					  const struct dsrlb_config *cfg,
					  struct lb4_revnat *frontend, __u8 *type)
{
	int unknown_critical = 0, malformed = 0;
	__u32 off = 0;
	int i;

	*type = 0;
	for (i = 0; i < DSRLB_GENEVE_MAX_OPTS; i++) {
		struct geneve_opt_hdr *opt;
		__u32 len;

		if (off >= opts_len || off > DSRLB_GENEVE_MAX_OPT_BYTES)
			break;
		opt = opts + off;
		if ((void *)(opt + 1) > data_end) {
			malformed = 1;
			break;
		}
		len = sizeof(*opt) + (opt->len & DSRLB_GENEVE_OPT_LEN_MASK) * 4;
		if (geneve_opt_is_ours(opt, cfg)) {
			struct geneve_dsr_opt *dsr = (void *)opt;

			/* It claims to be dsrlb's: from here on it is judged as such. */
			if (len != sizeof(*dsr) || off + len > opts_len || (void *)(dsr + 1) > data_end || *type)
				return GENEVE_OPTS_BAD;
			frontend->address = dsr->address;
			frontend->port = dsr->port;
			*type = opt->type;
		} else if (off + len > opts_len) {
			malformed = 1;
			break;
		} else if (opt->type & DSRLB_GENEVE_OPT_CRITICAL) {
			unknown_critical = 1;
		}
		off += len;
	}
	if (!*type)
		return GENEVE_OPTS_FOREIGN;
	if (unknown_critical || malformed || off < opts_len)
		return GENEVE_OPTS_BAD;
	return GENEVE_OPTS_OURS;
}

/* A packet that is not dsrlb's Geneve: to the stack exactly as it came. */
static __always_inline int geneve_foreign(void)
{
	return count(DSRLB_STAT_PASS_GENEVE_FOREIGN, XDP_PASS);
}

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
 * Anything else dsrlb's is dropped and counted, and writes nothing.
 */
static __always_inline int geneve_decap(struct xdp_md *ctx, const struct pkt4 *p,
					const struct dsrlb_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct lb4_revnat frontend = {};
	struct geneve_hdr *gh = (void *)((struct udphdr *)p->l4 + 1);
	struct ethhdr *inner_eth;
	struct pkt4 in = {};
	struct icmp_quote q;
	__u32 opts_len, inner_off, udp_len;
	__u8 type;
	int rc;

	/* Options are defined for version 0 only; anything shorter or else is not ours. */
	if ((void *)(gh + 1) > data_end || (gh->ver_optlen >> DSRLB_GENEVE_VER_SHIFT) != DSRLB_GENEVE_VERSION)
		return geneve_foreign();
	opts_len = (gh->ver_optlen & DSRLB_GENEVE_OPTLEN_MASK) * 4;
	udp_len = bpf_ntohs(((struct udphdr *)p->l4)->len);
	if (sizeof(struct udphdr) + sizeof(*gh) + opts_len > udp_len)
		return geneve_foreign();
	rc = geneve_options(gh + 1, opts_len, data_end, cfg, &frontend, &type);
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
	rc = parse_ipv4(inner_eth, data_end, udp_len - inner_off, &in);
	if (rc == PARSE_OK)
		rc = geneve_verify(&in.tuple, &frontend, type, cfg);
	else if (rc == PARSE_OTHER_PROTO && in.tuple.proto == IPPROTO_ICMP && !icmp_quote_parse(&in, &q))
		rc = geneve_verify_icmp_error(&in, &q, &frontend, cfg);
	else
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);
	if (rc != LOCAL_OK)
		return geneve_refused(rc);

	/* The stack accepts the inner frame only if addressed to this device. */
	eth_copy_macs(inner_eth, p->eth);
	if (bpf_xdp_adjust_head(ctx, sizeof(struct ethhdr) + ipv4_hdr_len(p->ip) + inner_off))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(DSRLB_STAT_PASS_DECAP, XDP_PASS);
}

#endif /* DSRLB_ENCAP_H */
