/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stats.h - per-CPU counters (enum dsrlb_stat): one per verdict or drop reason. */
#ifndef DSRLB_STATS_H
#define DSRLB_STATS_H

#include "maps.h"

static __always_inline void stat_inc(__u32 stat)
{
	__u64 *count = bpf_map_lookup_elem(&stats, &stat);

	/* Per-CPU slot: no other CPU writes it, so no atomic add needed. */
	if (count)
		*count += 1;
}

/* Counts the verdict and returns it, so exits read `return count(X, XDP_PASS)`. */
static __always_inline int count(__u32 stat, int verdict)
{
	stat_inc(stat);
	return verdict;
}

#endif /* DSRLB_STATS_H */
