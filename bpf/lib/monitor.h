/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * monitor.h - datapath events for `lbctl monitor` (docs/datapath.md,
 * "Monitor"). Two central places, so every path, present or future, is
 * covered without code of its own:
 *  - count() / stat_inc() (stats.h) note the event a counter stands for in
 *    a per-CPU slot: a drop whenever the verdict is the program's drop
 *    verdict (DSRLB_DROP_VERDICT, defined by the program's .c), a trace for
 *    the counters of rewrites (monitor_trace_of). Both the counter and the
 *    verdict are constants at nearly every call site, so where no event can
 *    be the check compiles away; where one can, it costs the gate's read.
 *  - the program's exits (monitor_xdp, monitor_tc) turn the noted event into
 *    a record with the frame as it leaves (tuple, Geneve outer addresses and
 *    option), read with the load_bytes helpers, so they need nothing from
 *    the path that produced it. Every exit of xdp_lb and tc_revnat goes
 *    through them but those that leave the stack what is none of dsrlb's
 *    business (not IPv4, no frontend's port, no reply of a flow here), which
 *    make no event.
 * With the gate closed a packet pays one inlined array read at its exit
 * (and none on the exits just named).
 */
#ifndef DSRLB_MONITOR_H
#define DSRLB_MONITOR_H

#include <stddef.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "compiler.h"
#include "stats_bytes.h"

static __always_inline struct dsrlb_monitor_gate *monitor_gate_get(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&monitor_gate, &zero);
}

/* The counters that stand for a rewritten packet: the trace events. */
static __always_inline __u32 monitor_trace_of(__u32 stat)
{
	switch (stat) {
	case DSRLB_STAT_TX_ENCAP:
	case DSRLB_STAT_TX_SNAT:
	case DSRLB_STAT_PASS_DECAP:
	case DSRLB_STAT_PASS_LOCAL:
	case DSRLB_STAT_REVNAT_REWRITE:
	case DSRLB_STAT_TX_SNAT_REPLY:
	case DSRLB_STAT_FRAG_REVNAT:
	case DSRLB_STAT_ICMP_TO_CLIENT:
	case DSRLB_STAT_ICMP_TO_BACKEND:
	case DSRLB_STAT_TX_REJECT:
	case DSRLB_STAT_TX_TOO_BIG:
	case DSRLB_STAT_TX_RESCUE:
	case DSRLB_STAT_RESCUE_LOCAL:
	case DSRLB_STAT_REVNAT_MISS_REWRITTEN:
		return DSRLB_MONITOR_TRACE;
	default:
		return 0;
	}
}

/* Notes event `type` for this packet when a monitor asked for it; a drop outranks a rewrite noted before it. */
static __always_inline void monitor_note(__u32 type, __u32 stat)
{
	const struct dsrlb_monitor_gate *g = monitor_gate_get();
	struct dsrlb_monitor_pending *p;
	__u32 zero = 0;

	if (likely(!g || !(g->types & type)))
		return;
	p = bpf_map_lookup_elem(&monitor_pending, &zero);
	if (!p || (p->event.type == DSRLB_MONITOR_DROP && type != DSRLB_MONITOR_DROP))
		return;
	p->event.reason = stat;
	p->event.type = type;
}

/* Packet bytes into `to`; `hook` is a constant where this is inlined, so only its program's helper remains. */
static __always_inline long monitor_load(void *ctx, __u8 hook, __u32 off, void *to, __u32 len)
{
	if (hook == DSRLB_HOOK_XDP)
		return bpf_xdp_load_bytes(ctx, off, to, len);
	return bpf_skb_load_bytes(ctx, off, to, len);
}

/*
 * The tuple of the IPv4 packet whose Ethernet header is at `off` (ports for
 * TCP and UDP, but not in fragments); returns the offset of its L4 header,
 * 0 when there is no IPv4 header to read (the tuple stays zero).
 */
static __always_inline __u32 monitor_read_ip(void *ctx, __u8 hook, __u32 off, struct lb4_tuple *t)
{
	__be16 ports[2], eth_proto;
	struct iphdr ip;
	__u32 l4;

	if (monitor_load(ctx, hook, off + offsetof(struct ethhdr, h_proto), &eth_proto, sizeof(eth_proto)) ||
	    eth_proto != bpf_htons(ETH_P_IP) ||
	    monitor_load(ctx, hook, off + sizeof(struct ethhdr), &ip, sizeof(ip)) ||
	    ip.version != DSRLB_IPV4_VERSION || ip.ihl < DSRLB_IPV4_MIN_IHL)
		return 0;
	t->saddr = ip.saddr;
	t->daddr = ip.daddr;
	t->proto = ip.protocol;
	l4 = off + sizeof(struct ethhdr) + ip.ihl * 4;
	if ((ip.protocol == IPPROTO_TCP || ip.protocol == IPPROTO_UDP) &&
	    !(ip.frag_off & bpf_htons(DSRLB_IP_MF | DSRLB_IP_OFFSET_MASK)) &&
	    !monitor_load(ctx, hook, l4, ports, sizeof(ports))) {
		t->sport = ports[0];
		t->dport = ports[1];
	}
	return l4;
}

/*
 * The frame as it leaves, into the event: its tuple; a Geneve frame to the
 * configured port also gives its outer addresses, the frontend in dsrlb's
 * option when that comes first, and the inner packet's tuple.
 */
static __always_inline void monitor_read_frame(void *ctx, __u8 hook, struct dsrlb_event *e)
{
	const struct dsrlb_config *cfg;
	struct lb4_tuple inner = {};
	struct {
		__u8   ver_optlen;
		__u8   flags;
		__be16 proto;
		__be32 vni;
		__be16 opt_class;
		__u8   opt_type;
		__u8   opt_len;
		__be32 address;
		__be16 port;
		__u16  pad;
	} g;
	__u32 l4, zero = 0;

	l4 = monitor_read_ip(ctx, hook, 0, &e->tuple);
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!l4 || !cfg || e->tuple.proto != IPPROTO_UDP || e->tuple.dport != cfg->geneve_port ||
	    monitor_load(ctx, hook, l4 + sizeof(struct udphdr), &g, sizeof(g)))
		return;
	if (bpf_ntohs(g.opt_class) == cfg->opt_class &&
	    (g.opt_type == DSRLB_GENEVE_OPT_TYPE_DSR || g.opt_type == DSRLB_GENEVE_OPT_TYPE_SNAT)) {
		e->frontend_address = g.address;
		e->frontend_port = g.port;
		e->opt_type = g.opt_type;
	}
	l4 += sizeof(struct udphdr) + DSRLB_GENEVE_HDR_SIZE + (g.ver_optlen & DSRLB_GENEVE_OPTLEN_MASK) * 4;
	if (!monitor_read_ip(ctx, hook, l4, &inner))
		return;
	e->outer_saddr = e->tuple.saddr;
	e->outer_daddr = e->tuple.daddr;
	e->tuple = inner;
}

/*
 * The event's time, type, reason, program, CPU and verdict; false when the
 * lease is over, which closes the gate instead (a monitor that died leaves
 * it so).
 */
static __always_inline int monitor_event_start(struct dsrlb_monitor_gate *g, struct dsrlb_event *e, __u8 type,
					       __u16 reason, __u8 hook, int verdict)
{
	e->ts_ns = bpf_ktime_get_ns();
	if (e->ts_ns > g->expires_ns) {
		g->types = 0;
		return 0;
	}
	e->type = type;
	e->reason = reason;
	e->hook = hook;
	e->cpu = bpf_get_smp_processor_id();
	e->verdict = verdict;
	return 1;
}

/*
 * At a program's exit with the gate open: the event the packet noted, if
 * any, into the ring buffer; a full ring buffer counts a loss.
 */
static __always_inline void monitor_emit(void *ctx, struct dsrlb_monitor_gate *g, __u8 hook, __u32 ifindex,
					 __u32 len, int verdict)
{
	struct dsrlb_monitor_pending *p;
	struct dsrlb_event e = {};
	__u32 zero = 0;
	__u8 type;

	p = bpf_map_lookup_elem(&monitor_pending, &zero);
	if (!p || !p->event.type)
		return;
	type = p->event.type;
	p->event.type = 0;
	if (!monitor_event_start(g, &e, type, p->event.reason, hook, verdict))
		return;
	e.ifindex = ifindex;
	e.len = len;
	monitor_read_frame(ctx, hook, &e);
	if (bpf_ringbuf_output(&monitor_events, &e, sizeof(e), 0))
		p->lost++;
}

/*
 * A socket hook's event, written at once: a socket call has no packet and
 * no exit to wait for. `to`: where the call goes now (a backend, or the
 * frontend it was refused for); `frontend`: the address the program saw.
 */
static __always_inline void monitor_sock(__u8 type, __u32 stat, __u8 hook, int verdict, const struct lb4_tuple *to,
					 const struct lb4_revnat *frontend)
{
	struct dsrlb_monitor_gate *g = monitor_gate_get();
	struct dsrlb_monitor_pending *p;
	struct dsrlb_event e = {};
	__u32 zero = 0;

	if (likely(!g || !(g->types & type)) || !monitor_event_start(g, &e, type, stat, hook, verdict))
		return;
	e.tuple = *to;
	e.frontend_address = frontend->address;
	e.frontend_port = frontend->port;
	if (bpf_ringbuf_output(&monitor_events, &e, sizeof(e), 0)) {
		p = bpf_map_lookup_elem(&monitor_pending, &zero);
		if (p)
			p->lost++;
	}
}

/* xdp_lb's exit: every verdict passes here (and the bytes of a forward are counted: stats_bytes.h). */
static __always_inline int monitor_xdp(struct xdp_md *ctx, int verdict)
{
	struct dsrlb_monitor_gate *g = monitor_gate_get();

	stat_bytes_exit(ctx->data_end - ctx->data, verdict == XDP_DROP);
	if (likely(!g || !g->types))
		return verdict;
	monitor_emit(ctx, g, DSRLB_HOOK_XDP, ctx->ingress_ifindex, ctx->data_end - ctx->data, verdict);
	return verdict;
}

/* tc_revnat's exit: every verdict passes here (and the bytes of a forward are counted: stats_bytes.h). */
static __always_inline int monitor_tc(struct __sk_buff *skb, int verdict)
{
	struct dsrlb_monitor_gate *g = monitor_gate_get();

	stat_bytes_exit(skb->len, verdict == TC_ACT_SHOT);
	if (likely(!g || !g->types))
		return verdict;
	monitor_emit(skb, g, DSRLB_HOOK_TC_EGRESS, skb->ifindex, skb->len, verdict);
	return verdict;
}

#endif /* DSRLB_MONITOR_H */
