/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * stats.h - per-CPU counters (enum dsrlb_stat): one per verdict or drop
 * reason. Every exit is counted here, so this is also where the monitor's
 * events are noted (monitor.h): a program defines DSRLB_DROP_VERDICT (its
 * drop verdict) before its includes to have its drops reported; the socket
 * hooks, which have no packet and no exit, write theirs at once
 * (monitor_sock). The same programs note
 * their forward counters for the bytes their exits add (stats_bytes.h).
 */
#ifndef DSRLB_STATS_H
#define DSRLB_STATS_H

#include "maps.h"
#include "monitor.h"
#include "stats_bytes.h"

static __always_inline void stat_inc(__u32 stat)
{
	__u64 *count = bpf_map_lookup_elem(&stats, &stat);

	/* Per-CPU slot: no other CPU writes it, so no atomic add needed. */
	if (count)
		*count += 1;
#ifdef DSRLB_DROP_VERDICT
	stat_bytes_note(stat);
	if (monitor_trace_of(stat))
		monitor_note(DSRLB_MONITOR_TRACE, stat);
#endif
}

/* Counts the verdict and returns it, so exits read `return count(X, XDP_PASS)`. */
static __always_inline int count(__u32 stat, int verdict)
{
	stat_inc(stat);
#ifdef DSRLB_DROP_VERDICT
	if (verdict == DSRLB_DROP_VERDICT)
		monitor_note(DSRLB_MONITOR_DROP, stat);
#endif
	return verdict;
}

#endif /* DSRLB_STATS_H */
