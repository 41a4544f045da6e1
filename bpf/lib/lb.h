/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb.h - service and backend selection on the LB node (DESIGN.md §1.1):
 * source ranges, then the flow table, then session affinity, then Maglev.
 */
#ifndef DSRLB_LB_H
#define DSRLB_LB_H

#include "maps.h"
#include "hash.h"
#include "maglev.h"

enum lb_result {
	LB_OK = 0,
	LB_NO_ENDPOINTS,   /* the service has no active backend */
	LB_NO_BACKEND,     /* the table names a backend id without an entry */
	LB_TERMINATING,    /* the table names a terminating backend */
};

struct lb_choice {
	__u32 backend_id;
	struct lb4_backend backend;
};

static __always_inline const struct lb4_service *lb_service(const struct lb4_tuple *t)
{
	struct lb4_key key = {
		.address = t->daddr,
		.port = t->dport,
		.proto = t->proto,
	};

	return bpf_map_lookup_elem(&lb4_services, &key);
}

/* loadBalancerSourceRanges: with the flag set, only listed clients get in. */
static __always_inline int lb_source_allowed(const struct lb4_service *svc, __be32 client)
{
	struct lb4_source_range_key key = {
		.prefixlen = DSRLB_SOURCE_RANGE_FULL_PREFIX,
		.service_id = svc->service_id,
		.address = client,
	};

	if (!(svc->flags & DSRLB_SVC_F_SOURCE_RANGES))
		return 1;
	return bpf_map_lookup_elem(&lb4_source_ranges, &key) != NULL;
}

static __always_inline int backend_terminating(const struct lb4_backend *be)
{
	return be->flags & DSRLB_BE_F_TERMINATING;
}

/* Copies the backend into `out` (a stable copy for the rest of the program). */
static __always_inline int lb_backend(__u32 id, struct lb_choice *out)
{
	const struct lb4_backend *be;

	if (id == DSRLB_BACKEND_ID_NONE)
		return 0;
	be = bpf_map_lookup_elem(&lb4_backends, &id);
	if (!be)
		return 0;
	out->backend_id = id;
	out->backend = *be;
	return 1;
}

/*
 * An existing flow keeps its backend while that backend exists, terminating
 * or not; only a new TCP connection (a SYN reusing the tuple) moves off a
 * terminating one.
 */
static __always_inline int lb_flow_backend(const struct lb4_service *svc, const struct lb4_tuple *flow,
					   int new_conn, struct lb_choice *out)
{
	const struct lb4_flow *f = bpf_map_lookup_elem(&lb4_flows, flow);
	__u32 id, service_id;

	if (!f)
		return 0;
	/* LRU entries can be recycled under us: read each field once. */
	id = f->backend_id;
	service_id = f->service_id;
	if (service_id != svc->service_id || !lb_backend(id, out))
		return 0;
	return !(new_conn && backend_terminating(&out->backend));
}

/* ClientIP affinity: the client's backend while unexpired and still usable. */
static __always_inline int lb_affinity_backend(const struct lb4_service *svc, __be32 client,
					       __u64 now, struct lb_choice *out)
{
	struct lb4_affinity_key key = { .client = client, .service_id = svc->service_id };
	const struct lb4_affinity *a = bpf_map_lookup_elem(&lb4_affinity, &key);
	__u64 last_used;
	__u32 id;

	if (!a)
		return 0;
	last_used = a->last_used_ns;
	id = a->backend_id;
	if (now - last_used > (__u64)svc->affinity_timeout * DSRLB_NSEC_PER_SEC)
		return 0;
	return lb_backend(id, out) && !backend_terminating(&out->backend);
}

static __always_inline void lb_affinity_update(const struct lb4_service *svc, __be32 client,
					       __u64 now, __u32 backend_id)
{
	struct lb4_affinity_key key = { .client = client, .service_id = svc->service_id };
	struct lb4_affinity value = { .last_used_ns = now, .backend_id = backend_id };

	bpf_map_update_elem(&lb4_affinity, &key, &value, BPF_ANY);
}

/*
 * Picks the backend for the packet's flow (`flow`: the client tuple as on
 * the wire, flags 0). New flows are recorded in lb4_flows and, with
 * affinity, refresh the client's affinity entry (like kube-proxy, which
 * refreshes it per new connection).
 */
static __always_inline int lb_select(const struct lb4_service *svc, const struct lb4_tuple *flow,
				     int new_conn, struct lb_choice *out)
{
	int affinity = svc->flags & DSRLB_SVC_F_AFFINITY;
	struct lb4_flow entry = { .service_id = svc->service_id };
	__u64 now = 0;

	if (lb_flow_backend(svc, flow, new_conn, out))
		return LB_OK;
	if (!svc->backend_count)
		return LB_NO_ENDPOINTS;

	if (affinity)
		now = bpf_ktime_get_ns();
	if (!affinity || !lb_affinity_backend(svc, flow->saddr, now, out)) {
		if (!lb_backend(maglev_backend(svc, flow_hash(flow, !affinity)), out))
			return LB_NO_BACKEND;
		if (backend_terminating(&out->backend))
			return LB_TERMINATING;
	}

	entry.backend_id = out->backend_id;
	bpf_map_update_elem(&lb4_flows, flow, &entry, BPF_ANY);
	if (affinity)
		lb_affinity_update(svc, flow->saddr, now, out->backend_id);
	return LB_OK;
}

#endif /* DSRLB_LB_H */
