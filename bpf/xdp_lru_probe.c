// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_lru_probe - a benchmark probe, never attached: parses the frame like
 * xdp_lb, looks its tuple up in an LRU hash shaped like lb4_flows and
 * inserts it when missing. Nothing else. bench/datapath.ts runs it on the
 * new-flow frames to show what the kernel's LRU insert alone costs, the
 * part of a new flow no code of ours can remove while lb4_flows is an LRU
 * hash (docs/design.md §2).
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dsrlb.h"
#include "parse.h"

/* Like lb4_flows (same key, value, size), but private to the probe. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_FLOWS);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_flow);
} probe_flows SEC(".maps");

SEC("xdp")
int xdp_lru_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct lb4_flow entry = { .backend_id = DSRLB_BACKEND_ID_NONE };
	struct pkt4 p;

	if (parse_ipv4(data, data_end, ctx->data_end - ctx->data, &p) != PARSE_OK)
		return XDP_PASS;
	if (!bpf_map_lookup_elem(&probe_flows, &p.tuple))
		bpf_map_update_elem(&probe_flows, &p.tuple, &entry, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
