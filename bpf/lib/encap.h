/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * encap.h - Geneve (RFC 8926) with the DSR option (DESIGN.md §1.2, §1.3):
 * encapsulation on the LB node, validation and decapsulation on the
 * backend node.
 */
#ifndef DSRLB_ENCAP_H
#define DSRLB_ENCAP_H

#include "maps.h"
#include "csum.h"
#include "fib.h"
#include "icmp_quote.h"
#include "nat.h"
#include "parse.h"
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
	__u8   with_opt;      /* carry the DSR option (DSR mode) */
	__u32  inner_ip_len;  /* inner IPv4 total length */
	struct lb4_revnat frontend; /* the DSR option's payload */
};

static __always_inline __u32 encap_overhead(int with_opt)
{
	return with_opt ? DSRLB_ENCAP_OVERHEAD : DSRLB_ENCAP_OVERHEAD_NO_OPT;
}

/*
 * Prepends outer Ethernet / IPv4 / UDP / Geneve [/ DSR option] to the frame
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
	__u32 overhead = encap_overhead(e->with_opt);
	__u32 outer_len = e->inner_ip_len + overhead;
	__u32 ver_tos_len, id_frag, ttl_proto;
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
	if ((void *)(gh + 1) + (e->with_opt ? DSRLB_GENEVE_DSR_OPT_SIZE : 0) > data_end)
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

	/* VNI 0. With the option: Opt Len 3 words, C bit (the option is critical). */
	*((__u32 *)gh + 1) = 0;
	if (!e->with_opt) {
		*(__u32 *)gh = bpf_htonl(DSRLB_GENEVE_PROTO_ETH);
	} else {
		struct geneve_dsr_opt *opt = (void *)(gh + 1);

		*(__u32 *)gh = bpf_htonl(((DSRLB_GENEVE_DSR_OPT_SIZE / 4) << 24) |
					 (DSRLB_GENEVE_FLAG_CRITICAL << 16) | DSRLB_GENEVE_PROTO_ETH);
		*(__u32 *)opt = bpf_htonl(((__u32)cfg->opt_class << 16) |
					  (DSRLB_GENEVE_OPT_TYPE_DSR << 8) | DSRLB_GENEVE_OPT_LEN_WORDS);
		opt->address = e->frontend.address;
		*((__u32 *)opt + 2) = bpf_htonl((__u32)bpf_ntohs(e->frontend.port) << 16);
	}
	return 0;
}

static __always_inline int geneve_for_us(const struct pkt4 *p, const struct dsrlb_config *cfg)
{
	return p->tuple.proto == IPPROTO_UDP && p->tuple.dport == cfg->geneve_port &&
	       p->tuple.daddr == cfg->node_address;
}

enum geneve_opt_result {
	GENEVE_OPTS_OK = 0,
	GENEVE_OPTS_BAD,
};

/*
 * Walks the options: the DSR option (right class, type and size) fills
 * `frontend`; any other critical option, a malformed length or more options
 * than we scan makes the packet unacceptable (RFC 8926 §3.5: a tunnel
 * endpoint must drop packets with critical options it does not know).
 */
static __always_inline int geneve_options(void *opts, __u32 opts_len, void *data_end,
					  const struct dsrlb_config *cfg,
					  struct lb4_revnat *frontend, int *found)
{
	__u32 off = 0;
	int i;

	for (i = 0; i < DSRLB_GENEVE_MAX_OPTS; i++) {
		struct geneve_opt_hdr *opt;
		__u32 len;

		if (off >= opts_len || off > DSRLB_GENEVE_MAX_OPT_BYTES)
			break;
		opt = opts + off;
		if ((void *)(opt + 1) > data_end)
			return GENEVE_OPTS_BAD;
		len = sizeof(*opt) + (opt->len & DSRLB_GENEVE_OPT_LEN_MASK) * 4;
		if (off + len > opts_len)
			return GENEVE_OPTS_BAD;
		if (opt->opt_class == bpf_htons(cfg->opt_class) &&
		    opt->type == DSRLB_GENEVE_OPT_TYPE_DSR) {
			struct geneve_dsr_opt *dsr = (void *)opt;

			if (len != sizeof(*dsr) || (void *)(dsr + 1) > data_end)
				return GENEVE_OPTS_BAD;
			frontend->address = dsr->address;
			frontend->port = dsr->port;
			*found = 1;
		} else if (opt->type & DSRLB_GENEVE_OPT_CRITICAL) {
			return GENEVE_OPTS_BAD;
		}
		off += len;
	}
	return off >= opts_len ? GENEVE_OPTS_OK : GENEVE_OPTS_BAD;
}

/* An inner ICMP error (type checked; its quote is the pod's business). */
static __always_inline int geneve_inner_icmp_error(const struct pkt4 *in)
{
	const __u8 *type = in->l4;

	return in->tuple.proto == IPPROTO_ICMP && in->l4_len >= DSRLB_ICMP_HDR_LEN &&
	       (const void *)(type + 1) <= in->data_end && icmp_is_error(*type);
}

/*
 * Backend node: a Geneve packet to this node. Only nodes may send one; a
 * valid packet loses its outer headers, records reverse-NAT state when it
 * carries the DSR option, and goes to the stack, which routes it to the pod.
 */
static __always_inline int geneve_decap(struct xdp_md *ctx, const struct pkt4 *p,
					const struct dsrlb_config *cfg)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct lb4_revnat frontend = {};
	struct geneve_hdr *gh = (void *)((struct udphdr *)p->l4 + 1);
	struct ethhdr *inner_eth;
	struct pkt4 in = {};
	__u32 opts_len, inner_off, udp_len;
	int found = 0, rc;

	if (!bpf_map_lookup_elem(&node_addrs, &p->tuple.saddr))
		return count(DSRLB_STAT_DROP_GENEVE_UNKNOWN_NODE, XDP_DROP);
	if ((void *)(gh + 1) > data_end)
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);
	if ((gh->ver_optlen >> DSRLB_GENEVE_VER_SHIFT) != DSRLB_GENEVE_VERSION ||
	    (gh->flags & DSRLB_GENEVE_FLAG_OAM) || gh->proto != bpf_htons(DSRLB_GENEVE_PROTO_ETH))
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);

	opts_len = (gh->ver_optlen & DSRLB_GENEVE_OPTLEN_MASK) * 4;
	udp_len = bpf_ntohs(((struct udphdr *)p->l4)->len);
	if (sizeof(struct udphdr) + sizeof(*gh) + opts_len > udp_len)
		return count(DSRLB_STAT_DROP_GENEVE_BAD_OPTION, XDP_DROP);
	if (geneve_options(gh + 1, opts_len, data_end, cfg, &frontend, &found))
		return count(DSRLB_STAT_DROP_GENEVE_BAD_OPTION, XDP_DROP);

	/* The inner frame ends where the UDP datagram does, not in padding. */
	inner_off = sizeof(struct udphdr) + sizeof(*gh) + opts_len;
	inner_eth = (void *)(gh + 1) + opts_len;
	/* TCP/UDP, or an ICMP error an LB node translated for a pod (icmp_forward.h). */
	rc = parse_ipv4(inner_eth, data_end, udp_len - inner_off, &in);
	if (rc != PARSE_OK && !(rc == PARSE_OTHER_PROTO && geneve_inner_icmp_error(&in)))
		return count(DSRLB_STAT_DROP_GENEVE_BAD_INNER, XDP_DROP);

	if (found && rc == PARSE_OK)
		dsr_revnat_record(&in.tuple, &frontend);

	/* The stack accepts the inner frame only if addressed to this device. */
	eth_copy_macs(inner_eth, p->eth);
	if (bpf_xdp_adjust_head(ctx, sizeof(struct ethhdr) + ipv4_hdr_len(p->ip) + inner_off))
		return count(DSRLB_STAT_DROP_ENCAP_FAILED, XDP_DROP);
	return count(DSRLB_STAT_PASS_DECAP, XDP_PASS);
}

#endif /* DSRLB_ENCAP_H */
