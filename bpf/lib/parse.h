/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - Ethernet / IPv4 / TCP|UDP parsing with every access checked
 * against the end of the packet where the verifier can see it.
 *
 * Malformed input is classified, never guessed at: an IPv4 header the
 * stack would reject (bad version, IHL, total length, truncated) is
 * PARSE_BAD_HEADER / PARSE_TRUNCATED; fragments have no usable L4 header
 * in all but the first, and the rest would not follow the first to the same
 * backend, so every fragment is PARSE_FRAGMENT (left to the stack).
 */
#ifndef DSRLB_PARSE_H
#define DSRLB_PARSE_H

#include <stddef.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include "dsrlb.h"
#include "compiler.h"

enum parse_result {
	PARSE_OK = 0,
	PARSE_NOT_IPV4,     /* other EtherType, or shorter than Ethernet */
	PARSE_FRAGMENT,
	PARSE_OTHER_PROTO,  /* valid IPv4, neither TCP nor UDP */
	PARSE_BAD_L4,       /* TCP/UDP header cut short or inconsistent */
	PARSE_TRUNCATED,    /* IPv4 header or datagram longer than the frame */
	PARSE_BAD_HEADER,   /* IPv4 version, IHL or total length invalid */
};

struct pkt4 {
	struct ethhdr *eth;
	struct iphdr *ip;
	void *data_end;
	void *l4;                 /* ports: the first 4 bytes of TCP and UDP */
	__sum16 *l4_check;        /* the TCP or UDP checksum field */
	__u32 ip_len;             /* IPv4 total length */
	__u32 l4_len;             /* IPv4 payload length */
	struct lb4_tuple tuple;   /* as on the wire; ports only with PARSE_OK */
};

static __always_inline __u32 ipv4_hdr_len(const struct iphdr *ip)
{
	return ip->ihl * 4;
}

/* The tuple of the other direction: a packet's replies (or what it replied to); padding zeroed for map keys. */
static __always_inline void tuple_reverse(const struct lb4_tuple *in, struct lb4_tuple *out)
{
	__builtin_memset(out, 0, sizeof(*out));
	out->saddr = in->daddr;
	out->daddr = in->saddr;
	out->sport = in->dport;
	out->dport = in->sport;
	out->proto = in->proto;
}

static __always_inline int parse_l4(struct pkt4 *p, void *data_end)
{
	if (p->tuple.proto == IPPROTO_TCP) {
		struct tcphdr *tcp = p->l4;

		if (unlikely((void *)(tcp + 1) > data_end || p->l4_len < sizeof(*tcp)))
			return PARSE_BAD_L4;
		if (unlikely(tcp->doff < DSRLB_TCP_MIN_DOFF || tcp->doff * 4 > p->l4_len))
			return PARSE_BAD_L4;
		p->tuple.sport = tcp->source;
		p->tuple.dport = tcp->dest;
		p->l4_check = &tcp->check;
		return PARSE_OK;
	}
	if (p->tuple.proto == IPPROTO_UDP) {
		struct udphdr *udp = p->l4;
		__u32 udp_len;

		if (unlikely((void *)(udp + 1) > data_end || p->l4_len < sizeof(*udp)))
			return PARSE_BAD_L4;
		udp_len = bpf_ntohs(udp->len);
		if (unlikely(udp_len < sizeof(*udp) || udp_len > p->l4_len))
			return PARSE_BAD_L4;
		p->tuple.sport = udp->source;
		p->tuple.dport = udp->dest;
		p->l4_check = &udp->check;
		return PARSE_OK;
	}
	return PARSE_OTHER_PROTO;
}

/*
 * Parses the frame of `frame_len` bytes starting at `start` (an Ethernet
 * header). Headers must lie before data_end; lengths are checked against
 * frame_len, which for an skb includes paged data beyond data_end.
 */
static __always_inline int parse_ipv4(void *start, void *data_end, __u32 frame_len,
				      struct pkt4 *p)
{
	struct ethhdr *eth = start;
	struct iphdr *ip;
	__u32 hlen;

	/* struct ethhdr is packed: read the EtherType as the aligned word it is. */
	if (unlikely((void *)(eth + 1) > data_end ||
		     *(__be16 *)((void *)eth + offsetof(struct ethhdr, h_proto)) != bpf_htons(ETH_P_IP)))
		return PARSE_NOT_IPV4;
	ip = (void *)(eth + 1);
	if (unlikely((void *)(ip + 1) > data_end || frame_len < sizeof(*eth) + sizeof(*ip)))
		return PARSE_TRUNCATED;
	if (unlikely(ip->version != DSRLB_IPV4_VERSION || ip->ihl < DSRLB_IPV4_MIN_IHL))
		return PARSE_BAD_HEADER;
	hlen = ipv4_hdr_len(ip);
	p->ip_len = bpf_ntohs(ip->tot_len);
	if (unlikely(p->ip_len < hlen))
		return PARSE_BAD_HEADER;
	/* Ethernet padding may follow the datagram; a shorter frame may not. */
	if (unlikely(p->ip_len > frame_len - sizeof(*eth)))
		return PARSE_TRUNCATED;

	p->data_end = data_end;
	p->eth = eth;
	p->ip = ip;
	p->l4 = (void *)ip + hlen;
	p->l4_len = p->ip_len - hlen;
	p->tuple.saddr = ip->saddr;
	p->tuple.daddr = ip->daddr;
	p->tuple.proto = ip->protocol;
	p->tuple.flags = 0;
	p->tuple.pad[0] = 0;
	p->tuple.pad[1] = 0;
	if (unlikely(ip->frag_off & bpf_htons(DSRLB_IP_MF | DSRLB_IP_OFFSET_MASK)))
		return PARSE_FRAGMENT;
	return parse_l4(p, data_end);
}

/*
 * The TCP header of a parsed TCP packet, else NULL. The verifier does not
 * tie a protocol number read back from the stack to the bounds checked for
 * that protocol in parse_l4, so the bound is checked again here.
 */
static __always_inline struct tcphdr *pkt_tcp(const struct pkt4 *p)
{
	struct tcphdr *tcp = p->l4;

	if (p->tuple.proto != IPPROTO_TCP || (void *)(tcp + 1) > p->data_end)
		return NULL;
	return tcp;
}

#endif /* DSRLB_PARSE_H */
