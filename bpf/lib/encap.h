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
	/* The second-chance option's payload (DSR only); address 0: none. */
	struct lb4_revnat second;
};

/* One of dsrlb's options: {class, type, 2 words} {be32 address, be16 port, u16 zero}. */
static __always_inline void geneve_opt_write(struct geneve_dsr_opt *opt, const struct dsrlb_config *cfg, __u8 type,
					     const struct lb4_revnat *payload)
{
	*(__u32 *)opt = bpf_htonl(((__u32)cfg->opt_class << 16) | ((__u32)type << 8) | DSRLB_GENEVE_OPT_LEN_WORDS);
	opt->address = payload->address;
	*((__u32 *)opt + 2) = bpf_htonl((__u32)bpf_ntohs(payload->port) << 16);
}

/*
 * Prepends outer Ethernet / IPv4 / UDP / Geneve / dsrlb option (and the
 * second-chance option when `e` has one) to the frame (its Ethernet header
 * becomes the inner one). Returns < 0 without headroom.
 *
 * The headers are written in whole words (packet stores need no alignment
 * on the architectures XDP runs natively on), and the outer IPv4 checksum
 * is summed from the words as they are built, never read back.
 */
static __always_inline int geneve_encap(struct xdp_md *ctx, const struct dsrlb_config *cfg,
					const struct dsrlb_nexthop *nh,
					const struct encap_params *e)
{
	int second = e->second.address != 0;
	__u32 overhead = second ? DSRLB_ENCAP_OVERHEAD_MAX : DSRLB_ENCAP_OVERHEAD;
	__u32 outer_len = e->inner_ip_len + overhead;
	__u32 opts_words = (second ? 2 : 1) * (DSRLB_GENEVE_DSR_OPT_SIZE / 4);
	__u32 ver_tos_len, id_frag, ttl_proto;
	struct geneve_dsr_opt *opt, *sc;
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
	sc = opt + 1;
	if ((void *)(opt + 1) > data_end || (second && (void *)(sc + 1) > data_end))
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

	/* VNI 0, Opt Len 3 (6) words, C bit (the DSR option is critical). */
	*((__u32 *)gh + 1) = 0;
	*(__u32 *)gh = bpf_htonl((opts_words << 24) | (DSRLB_GENEVE_FLAG_CRITICAL << 16) | DSRLB_GENEVE_PROTO_ETH);
	geneve_opt_write(opt, cfg, e->opt_type, &e->frontend);
	if (second)
		geneve_opt_write(sc, cfg, DSRLB_GENEVE_OPT_TYPE_SECOND_CHANCE, &e->second);
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

/* What dsrlb's options in a Geneve header say. */
struct geneve_dsrlb_opts {
	struct lb4_revnat frontend; /* the DSR option's or SNAT marker's payload */
	struct lb4_revnat second;   /* the second-chance option's; address 0: none */
	__u8 type;                  /* DSRLB_GENEVE_OPT_TYPE_DSR or _SNAT; 0: neither */
};

/* One of dsrlb's option types in dsrlb's class. */
static __always_inline int geneve_opt_is_ours(const struct geneve_opt_hdr *opt, const struct dsrlb_config *cfg)
{
	return opt->opt_class == bpf_htons(cfg->opt_class) &&
	       (opt->type == DSRLB_GENEVE_OPT_TYPE_DSR || opt->type == DSRLB_GENEVE_OPT_TYPE_SNAT ||
		opt->type == DSRLB_GENEVE_OPT_TYPE_SECOND_CHANCE);
}

/*
 * Walks the options for dsrlb's (DSR or SNAT marker, and a second chance:
 * `out`). Without a DSR option or SNAT marker the packet is not dsrlb's,
 * whatever else it holds. With one, a wrong size, a malformed length, more
 * options than we scan, any other critical option (RFC 8926 §3.5: a tunnel
 * endpoint must drop packets with critical options it does not know), an
 * option twice, or a second chance beside the SNAT marker (it is for DSR
 * flows only) makes it unacceptable.
 */
static __always_inline int geneve_options(void *opts, __u32 opts_len, void *data_end,
					  const struct dsrlb_config *cfg, struct geneve_dsrlb_opts *out)
{
	int unknown_critical = 0, malformed = 0, second = 0;
	__u32 off = 0;
	int i;

	out->type = 0;
	out->second.address = 0;
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
			struct lb4_revnat *to = &out->frontend;

			/* It claims to be dsrlb's: from here on it is judged as such. */
			if (len != sizeof(*dsr) || off + len > opts_len || (void *)(dsr + 1) > data_end)
				return GENEVE_OPTS_BAD;
			if (opt->type == DSRLB_GENEVE_OPT_TYPE_SECOND_CHANCE) {
				if (second++ || !dsr->address)
					return GENEVE_OPTS_BAD;
				to = &out->second;
			} else if (out->type) {
				return GENEVE_OPTS_BAD;
			} else {
				out->type = opt->type;
			}
			to->address = dsr->address;
			to->port = dsr->port;
		} else if (off + len > opts_len) {
			malformed = 1;
			break;
		} else if (opt->type & DSRLB_GENEVE_OPT_CRITICAL) {
			unknown_critical = 1;
		}
		off += len;
	}
	if (!out->type)
		return second ? GENEVE_OPTS_BAD : GENEVE_OPTS_FOREIGN;
	if (unknown_critical || malformed || off < opts_len ||
	    (second && out->type != DSRLB_GENEVE_OPT_TYPE_DSR))
		return GENEVE_OPTS_BAD;
	return GENEVE_OPTS_OURS;
}

/* A packet that is not dsrlb's Geneve: to the stack exactly as it came. */
static __always_inline int geneve_foreign(void)
{
	return count(DSRLB_STAT_PASS_GENEVE_FOREIGN, XDP_PASS);
}

#endif /* DSRLB_ENCAP_H */
