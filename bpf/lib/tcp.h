/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tcp.h - TCP replies and rewrites: RST for a frontend without endpoints
 * (XDP), MSS clamping of SYN-ACKs leaving through tc egress.
 */
#ifndef DSRLB_TCP_H
#define DSRLB_TCP_H

#include <linux/pkt_cls.h>
#include <stddef.h>
#include "csum.h"
#include "parse.h"
#include "reply.h"

static __always_inline int tcp_is_syn(const struct tcphdr *tcp)
{
	return tcp->syn && !tcp->ack;
}

/*
 * Turns the frame into a RST answering the packet (RFC 9293 §3.10.7.1:
 * acknowledging it unless it carried an ACK), to go back out of the
 * ingress device. Returns < 0 for a RST (never answered) or on failure.
 */
static __always_inline int tcp_reset_reply(struct xdp_md *ctx, const struct pkt4 *p,
					   const struct tcphdr *in)
{
	__u32 frame_len = ctx->data_end - ctx->data;
	__u32 new_len = sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr);
	struct reply_addrs r;
	__be16 client_port = in->source, frontend_port = in->dest;
	__u32 seq = bpf_ntohl(in->seq), ack_seq = in->ack_seq;
	__u32 seg_len = p->l4_len - in->doff * 4 + in->syn + in->fin;
	int had_ack = in->ack;
	struct tcphdr *tcp;
	struct ethhdr *eth;
	struct iphdr *ip;
	void *data_end;
	__u32 sum;

	if (in->rst || new_len > frame_len)
		return -1;
	reply_addrs_of(&r, p->eth, p->ip);

	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)frame_len))
		return -1;
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	ip = (void *)(eth + 1);
	tcp = (void *)(ip + 1);
	if ((void *)(tcp + 1) > data_end)
		return -1;

	reply_write_headers(eth, ip, &r, IPPROTO_TCP, sizeof(*ip) + sizeof(*tcp), bpf_htons(DSRLB_IP_DF));

	__builtin_memset(tcp, 0, sizeof(*tcp));
	tcp->source = frontend_port;
	tcp->dest = client_port;
	tcp->doff = DSRLB_TCP_MIN_DOFF;
	tcp->rst = 1;
	if (had_ack) {
		tcp->seq = ack_seq;
	} else {
		tcp->ack = 1;
		tcp->ack_seq = bpf_htonl(seq + seg_len);
	}
	sum = csum_pseudo_sum(r.frontend, r.client, IPPROTO_TCP, sizeof(*tcp));
	sum = csum_pkt_sum(tcp, sizeof(*tcp), data_end, sum);
	tcp->check = csum_finish(sum);
	return 0;
}

static __always_inline int tcp_is_syn_ack(const struct tcphdr *tcp)
{
	return tcp->syn && tcp->ack;
}

/* State of the TCP option walk, on the stack for bpf_loop's callback. */
struct tcp_opt_walk {
	__u8  opts[DSRLB_TCP_OPT_BUF];  /* the options, zero beyond opts_len; clamped in place */
	__u32 opts_len;
	__u32 off;                      /* next option */
	__u16 max_mss;
	__u16 clamped;                  /* MSS options lowered */
};

/*
 * One option per call; every MSS option above max_mss is lowered in the
 * buffer (a SYN-ACK with two MSS options must not slip the second one past:
 * which one a stack honours is its own choice). bpf_loop has the verifier
 * check this once for any offset; a plain loop over 40 option bytes
 * branches per byte (NOP or not) and its paths multiply past the verifier's
 * budget.
 */
static long tcp_opt_step(__u32 index, void *ctx)
{
	struct tcp_opt_walk *w = ctx;
	__u32 off = w->off;
	__u8 kind, len;
	__u16 mss;

	if (off >= w->opts_len)
		return 1;
	kind = w->opts[off & DSRLB_TCP_OPT_BUF_MASK];
	if (kind == DSRLB_TCP_OPT_EOL)
		return 1;
	if (kind == DSRLB_TCP_OPT_NOP) {
		w->off = off + 1;
		return 0;
	}
	len = w->opts[(off + 1) & DSRLB_TCP_OPT_BUF_MASK];
	if (len < DSRLB_TCP_OPT_HDR_LEN || off + len > w->opts_len)
		return 1;
	if (kind == DSRLB_TCP_OPT_MSS && len == DSRLB_TCP_OPT_MSS_LEN) {
		mss = (w->opts[(off + 2) & DSRLB_TCP_OPT_BUF_MASK] << 8) | w->opts[(off + 3) & DSRLB_TCP_OPT_BUF_MASK];
		if (mss > w->max_mss) {
			w->opts[(off + 2) & DSRLB_TCP_OPT_BUF_MASK] = w->max_mss >> 8;
			w->opts[(off + 3) & DSRLB_TCP_OPT_BUF_MASK] = w->max_mss & 0xff;
			w->clamped++;
		}
	}
	w->off = off + len;
	return 0;
}

/*
 * tc: lowers every MSS option of the TCP header at `l4_off` to `max_mss`,
 * through helpers, which keep the skb's checksum state right: the options
 * are stored back whole and the checksum follows their difference.
 * Returns the number clamped (0 if none needed or present), < 0 on failure.
 */
static __always_inline int tcp_clamp_mss(struct __sk_buff *skb, __u32 l4_off, __u16 max_mss)
{
	struct tcp_opt_walk w = { .max_mss = max_mss };
	__u8 orig[DSRLB_TCP_OPT_BUF];
	__u32 opts_off = l4_off + sizeof(struct tcphdr);
	__u32 check_off = l4_off + offsetof(struct tcphdr, check);
	__u32 len;
	__s64 diff;
	__u8 doff_byte;

	/* Data offset: the high nibble of byte 12 of the TCP header. */
	if (bpf_skb_load_bytes(skb, l4_off + DSRLB_TCP_DOFF_BYTE, &doff_byte, sizeof(doff_byte)))
		return -1;
	w.opts_len = (doff_byte >> DSRLB_TCP_DOFF_SHIFT) * 4 - sizeof(struct tcphdr);
	if (!w.opts_len || w.opts_len > DSRLB_TCP_MAX_OPT_BYTES)
		return 0;
	if (bpf_skb_load_bytes(skb, opts_off, w.opts, w.opts_len))
		return -1;
	__builtin_memcpy(orig, w.opts, sizeof(orig));
	bpf_loop(DSRLB_TCP_MAX_OPT_BYTES, tcp_opt_step, &w, 0);
	if (!w.clamped)
		return 0;

	/* Options are whole 4-byte words (data offset), as bpf_csum_diff wants;
	 * the mask restates the bound for the verifier (opts_len <= 40). */
	len = w.opts_len & DSRLB_TCP_OPT_BUF_MASK;
	if (!len)
		return 0;
	diff = bpf_csum_diff((__be32 *)orig, len, (__be32 *)w.opts, len, 0);
	if (diff < 0 || bpf_l4_csum_replace(skb, check_off, 0, diff, 0))
		return -1;
	if (bpf_skb_store_bytes(skb, opts_off, w.opts, len, 0))
		return -1;
	return w.clamped;
}

#endif /* DSRLB_TCP_H */
