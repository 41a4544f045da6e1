// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_pass - hands every frame to the stack untouched.
 *
 * Attached to the far side of lab veths (a veth delivers XDP_TX frames only
 * when its peer has an XDP program) and used as the benchmark floor.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
