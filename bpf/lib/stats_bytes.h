/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * stats_bytes.h - bytes of forwarded packets, by the same path as their
 * packet counter (stats_bytes, maps.h; docs/datapath.md "Stats"). A
 * packet's length is only final at its program's exit (a counter may be
 * counted before the packet is encapsulated), so the work is split:
 *  - stat_inc() (stats.h) notes a forward counter in stats_pending (per
 *    CPU): its index + 1 pushed as the low byte of a __u64, so the exit
 *    reads one byte per counter noted (nearly always one, at most
 *    DSRLB_STATS_NOTED_MAX). Whether a counter is a forward is a
 *    compile-time test, so every other counter compiles the note away.
 *  - the program's exit (monitor_xdp, monitor_tc: monitor.h) adds the frame
 *    length as it leaves (XDP: data_end - data; tc: skb->len; both from the
 *    Ethernet header, after any encapsulation or decapsulation) to every
 *    counter noted, and clears the note. A packet dropped after it was
 *    counted as a forward adds no bytes: bytes are those that left.
 * The exits that make no event (not IPv4, no frontend's port, no reply of a
 * flow here) note nothing, so they skip this too.
 */
#ifndef DSRLB_STATS_BYTES_H
#define DSRLB_STATS_BYTES_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.h"

/*
 * The counters of forwarded packets: those src/agent/datapath-counters.ts
 * reports as forwards (a unit test holds the two lists together).
 */
#define DSRLB_FORWARD_STATS(X)                                                              \
	X(DSRLB_STAT_TX_ENCAP) X(DSRLB_STAT_TX_SNAT) X(DSRLB_STAT_TX_SNAT_REPLY)            \
	X(DSRLB_STAT_PASS_LOCAL) X(DSRLB_STAT_PASS_DECAP) X(DSRLB_STAT_REVNAT_REWRITE)      \
	X(DSRLB_STAT_FRAG_REVNAT) X(DSRLB_STAT_ICMP_TO_CLIENT) X(DSRLB_STAT_ICMP_TO_BACKEND) \
	X(DSRLB_STAT_TX_RESCUE)

/* The forward counters as a mask of their indices: a compile-time test. */
_Static_assert(DSRLB_STAT_MAX <= 64, "DSRLB_FORWARD_MASK: one bit per counter");
#define DSRLB_STAT_BIT(stat) | (1ULL << (stat))
#define DSRLB_FORWARD_MASK (0ULL DSRLB_FORWARD_STATS(DSRLB_STAT_BIT))

/* stats_pending: a byte per counter noted (index + 1, 0 = none), the latest lowest. */
_Static_assert(DSRLB_STAT_MAX < 255, "stats_pending: a counter index + 1 fits a byte");
#define DSRLB_STATS_NOTED_MAX 8

/* Notes forward counter `stat` for the packet in flight; any other compiles to nothing where `stat` is a constant. */
static __always_inline void stat_bytes_note(__u32 stat)
{
	__u32 zero = 0;
	__u64 *noted;

	if (stat >= DSRLB_STAT_MAX || !((DSRLB_FORWARD_MASK >> stat) & 1))
		return;
	noted = bpf_map_lookup_elem(&stats_pending, &zero);
	if (noted)
		*noted = (*noted << 8) | (stat + 1);
}

static __always_inline void stat_bytes_add(__u32 stat, __u64 len)
{
	__u64 *bytes = bpf_map_lookup_elem(&stats_bytes, &stat);

	/* Per-CPU slot: no atomic add needed. */
	if (bytes)
		*bytes += len;
}

/* At a program's exit: the frame's `len` to the counters its packet noted (none when `dropped`). */
static __always_inline void stat_bytes_exit(__u32 len, int dropped)
{
	__u32 zero = 0;
	__u64 *pending = bpf_map_lookup_elem(&stats_pending, &zero);
	__u64 noted;
	int i;

	if (!pending || !*pending)
		return;
	noted = *pending;
	*pending = 0;
	if (dropped)
		return;
	for (i = 0; i < DSRLB_STATS_NOTED_MAX && noted; i++, noted >>= 8)
		stat_bytes_add((noted & 0xff) - 1, len);
}

#endif /* DSRLB_STATS_BYTES_H */
