/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ratelimit.h - the budget for replies the datapath generates itself (TCP
 * RST, ICMP port unreachable, ICMP fragmentation needed): a token bucket per
 * CPU (reply_bucket; rate and burst from `config`), so a flood with spoofed
 * sources cannot make the node a reflector. Per CPU: no atomics, no sharing.
 */
#ifndef DSRLB_RATELIMIT_H
#define DSRLB_RATELIMIT_H

#include "maps.h"
#include "config.h"

/* Takes one reply's worth of credit; 0 when the budget is spent (or zero). */
static __always_inline int reply_allowed(void)
{
	const struct dsrlb_config *cfg = config_get();
	__u32 zero = 0;
	struct dsrlb_reply_bucket *b = bpf_map_lookup_elem(&reply_bucket, &zero);
	__u64 now, cost, cap, credit;

	if (!cfg || !b || !cfg->reply_rate)
		return 0;
	cost = DSRLB_NSEC_PER_SEC / cfg->reply_rate;
	cap = cost * cfg->reply_burst;
	now = bpf_ktime_get_ns();
	/* Time since the last reply is credit; a full bucket banks no more. */
	credit = b->credit_ns + (now - b->last_ns);
	if (credit > cap)
		credit = cap;
	b->last_ns = now;
	if (credit < cost) {
		b->credit_ns = credit;
		return 0;
	}
	b->credit_ns = credit - cost;
	return 1;
}

#endif /* DSRLB_RATELIMIT_H */
