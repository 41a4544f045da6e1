/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * csum.h - Internet checksum (RFC 1071) and incremental updates (RFC 1624)
 * for XDP, where there is no skb to carry checksum state.
 *
 * Every value is used exactly as it lies in memory: the one's complement
 * sum does not depend on byte order as long as all words are read the same
 * way, so no byte swapping is needed anywhere here.
 */
#ifndef DSRLB_CSUM_H
#define DSRLB_CSUM_H

#include <linux/types.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include "dsrlb.h"

/* 32-bit one's complement addition (end-around carry). */
static __always_inline __u32 csum_add(__u32 sum, __u32 v)
{
	sum += v;
	return sum + (sum < v);
}

/* Folds a 32-bit one's complement sum to 16 bits, not complemented. */
static __always_inline __u16 csum_fold16(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The checksum field value for a sum (complemented fold). */
static __always_inline __sum16 csum_finish(__u32 sum)
{
	return (__sum16)~csum_fold16(sum);
}

/*
 * 64-bit accumulation: terms are added as plain integers into a __u64 and
 * folded once at the end, which is the same one's complement sum as adding
 * with end-around carry at every step, in a third of the instructions.
 * Every term is at most 32 bits, so billions of them cannot overflow.
 */

/* Folds a 64-bit sum of 32-bit terms to 16 bits, not complemented. */
static __always_inline __u16 csum_fold64(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* The change to a checksum when 4 bytes go from `from` to `to` (RFC 1624: ~m + m'). */
static __always_inline __u64 csum_diff4(__be32 from, __be32 to)
{
	return (__u64)(__u32)~from + to;
}

static __always_inline __u64 csum_diff2(__be16 from, __be16 to)
{
	return (__u64)(__u16)~from + to;
}

/* The checksum field value after the changes summed in `diff`: ~(~HC + diff). */
static __always_inline __sum16 csum_apply(__sum16 check, __u64 diff)
{
	return (__sum16)~csum_fold64((__u16)~check + diff);
}

/* Sum of a 20-byte IPv4 header (one without options, as dsrlb builds them). */
static __always_inline __u32 csum_ipv4_hdr_sum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)(sizeof(*ip) / sizeof(__u16)); i++)
		sum += w[i];
	return sum;
}

/* Sets the checksum of a 20-byte IPv4 header dsrlb wrote. */
static __always_inline void csum_set_ipv4(struct iphdr *ip)
{
	ip->check = 0;
	ip->check = csum_finish(csum_ipv4_hdr_sum(ip));
}

/*
 * Sum of `len` bytes (even, at most `2 * max_words`) at `start` in the
 * packet; the bound is a constant so the verifier sees a finite loop.
 */
static __always_inline __u32 csum_pkt_sum(const void *start, __u32 len, const void *data_end,
					  __u32 sum)
{
	const __u16 *w = start;
	__u32 i;

	for (i = 0; i < DSRLB_CSUM_MAX_WORDS; i++) {
		if (i * sizeof(__u16) >= len || (const void *)(w + i + 1) > data_end)
			break;
		sum = csum_add(sum, w[i]);
	}
	return sum;
}

/* Pseudo-header sum for TCP/UDP over IPv4. */
static __always_inline __u32 csum_pseudo_sum(__be32 saddr, __be32 daddr, __u8 proto, __u16 l4_len)
{
	__u32 sum = 0;

	sum = csum_add(sum, saddr);
	sum = csum_add(sum, daddr);
	sum = csum_add(sum, bpf_htons(proto));
	return csum_add(sum, bpf_htons(l4_len));
}

#endif /* DSRLB_CSUM_H */
