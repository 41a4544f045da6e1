/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * hash.h - the flow hash: Bob Jenkins' lookup3 final mix over the tuple.
 * It picks the Maglev slot, the Geneve source port (ECMP entropy) and the
 * first SNAT port tried. src/packet/flow-hash.ts computes the same value.
 */
#ifndef DSRLB_HASH_H
#define DSRLB_HASH_H

#include <linux/types.h>
#include "dsrlb.h"

static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> (32 - shift));
}

/* lookup3's final(a, b, c); the rotation amounts are the algorithm's. */
static __always_inline __u32 hash_3words(__u32 a, __u32 b, __u32 c, __u32 seed)
{
	a += DSRLB_HASH_INIT + seed;
	b += DSRLB_HASH_INIT + seed;
	c += DSRLB_HASH_INIT + seed;
	c ^= b; c -= rol32(b, 14);
	a ^= c; a -= rol32(c, 11);
	b ^= a; b -= rol32(a, 25);
	c ^= b; c -= rol32(b, 16);
	a ^= c; a -= rol32(c, 4);
	b ^= a; b -= rol32(a, 14);
	c ^= b; c -= rol32(b, 24);
	return c;
}

/*
 * Hash of {saddr, daddr, sport, dport, proto}, fields as they lie in the
 * packet; with_sport = 0 leaves the client port out (session affinity: all
 * of a client's connections to a service land on one backend).
 */
static __always_inline __u32 flow_hash(const struct lb4_tuple *t, int with_sport)
{
	__u32 sport = with_sport ? t->sport : 0;

	return hash_3words(t->saddr, t->daddr, (sport << 16) | t->dport, t->proto);
}

#endif /* DSRLB_HASH_H */
