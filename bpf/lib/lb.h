/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * lb.h - service and backend selection on the LB node (docs/design.md §1.1):
 * source ranges, then the flow table, then session affinity, then Maglev.
 */
#ifndef DSRLB_LB_H
#define DSRLB_LB_H

#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "compiler.h"
#include "hash.h"
#include "maglev.h"
#include "tables.h"

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

/* What lb4_flows or lb4_flows_new holds for the packet's tuple, copied once (LRU entries can be recycled under us). */
struct lb_flow_state {
	struct lb4_flow entry;
	struct lb4_flow *slot; /* the entry in the map: for the state byte alone (lb_flow_set_state) */
	int found;
	int where;             /* enum table_where */
};

static __always_inline void lb_flow_read(const struct lb4_tuple *flow, struct lb_flow_state *out)
{
	struct lb4_flow *f = table_find(&lb4_flows, &lb4_flows_new, flow, &out->where);

	out->found = f != NULL;
	out->slot = f;
	if (f)
		out->entry = *f;
}

/* The flow state a packet announces (enum dsrlb_flow_state); `tcp` is NULL for other protocols. */
static __always_inline __u8 flow_state_seen(const struct tcphdr *tcp)
{
	if (!tcp)
		return DSRLB_FLOW_UNTRACKED;
	if (tcp->rst)
		return DSRLB_FLOW_RST;
	if (tcp->fin)
		return DSRLB_FLOW_FIN;
	if (tcp->syn && !tcp->ack)
		return DSRLB_FLOW_SYN;
	return DSRLB_FLOW_ESTABLISHED;
}

/* A SYN starts a flow over (tuple reuse); otherwise its state only advances. */
static __always_inline __u8 flow_next_state(__u8 cur, __u8 seen)
{
	return seen == DSRLB_FLOW_SYN || seen > cur ? seen : cur;
}

/*
 * Records a found flow's new state (a connection changes state a few times)
 * in place. The state is for people (lbctl) and nothing forwards on it, so a
 * store through the lookup's pointer will do: an entry recycled under us gets
 * a wrong state byte at worst. Rewriting the entry with an update instead
 * would take a new LRU element, in a full table evicting a flow, on the
 * first ACK of every connection (docs/datapath.md).
 */
static __always_inline void lb_flow_set_state(const struct lb_flow_state *state, __u8 next)
{
	if (state->slot) {
		state->slot->state = next;
		/* A SYN starts the tuple over: a new connection, to be confirmed like any. */
		if (next == DSRLB_FLOW_SYN)
			state->slot->flags = 0;
	}
}

/* No frontend of the tuple's protocol (TCP or UDP) uses its destination port. */
static __always_inline int lb_port_unused(const struct lb4_tuple *t)
{
	__u32 port = bpf_ntohs(t->dport);
	__u32 word = (t->proto == IPPROTO_UDP ? DSRLB_PORT_FILTER_UDP : DSRLB_PORT_FILTER_TCP) +
		     (port >> DSRLB_PORT_FILTER_WORD_SHIFT);
	const __u64 *bits = bpf_map_lookup_elem(&lb4_port_filter, &word);

	return bits && ((*bits >> (port & DSRLB_PORT_FILTER_BIT_MASK)) & 1);
}

static __always_inline const struct lb4_service *lb_service(const struct lb4_tuple *t)
{
	struct lb4_key key = {
		.address = t->daddr,
		.port = t->dport,
		.proto = t->proto,
	};

	return bpf_map_lookup_elem(&lb4_services, &key);
}

/* loadBalancerSourceRanges (the service has DSRLB_SVC_F_SOURCE_RANGES): only listed clients get in. */
static __always_inline int lb_source_allowed(__u32 service_id, __be32 client)
{
	struct lb4_source_range_key key = {
		.prefixlen = DSRLB_SOURCE_RANGE_FULL_PREFIX,
		.service_id = service_id,
		.address = client,
	};

	return bpf_map_lookup_elem(&lb4_source_ranges, &key) != NULL;
}

static __always_inline int backend_terminating(const struct lb4_backend *be)
{
	return be->flags & DSRLB_BE_F_TERMINATING;
}

/* The backend in slot `id`, or NULL for no id, an id past the array or a freed slot. */
static __always_inline const struct lb4_backend *lb_backend_slot(__u32 id)
{
	const struct lb4_backend *be;

	if (id == DSRLB_BACKEND_ID_NONE)
		return NULL;
	be = bpf_map_lookup_elem(&lb4_backends, &id);
	return be && (be->flags & DSRLB_BE_F_LIVE) ? be : NULL;
}

/* Copies the backend into `out` (a stable copy for the rest of the program). */
static __always_inline int lb_backend(__u32 id, struct lb_choice *out)
{
	const struct lb4_backend *be = lb_backend_slot(id);

	if (!be)
		return 0;
	out->backend_id = id;
	out->backend = *be;
	return 1;
}

/* The backend an entry recorded as {id, generation}, if that backend still holds the slot. */
static __always_inline int lb_recorded_backend(__u32 id, __u32 generation, struct lb_choice *out)
{
	return lb_backend(id, out) && out->backend.generation == generation;
}

/*
 * An existing flow keeps its backend while that backend exists, terminating
 * or not; only a new TCP connection (a SYN reusing the tuple) moves off a
 * terminating one.
 */
static __always_inline int lb_flow_backend(__u32 service_id, const struct lb_flow_state *flow,
					   int new_conn, struct lb_choice *out)
{
	if (!flow->found || flow->entry.service_id != service_id ||
	    !lb_recorded_backend(flow->entry.backend_id, flow->entry.backend_generation, out))
		return 0;
	return !(new_conn && backend_terminating(&out->backend));
}

/* The live frontend in slot `revnat_id` of lb4_frontends, or NULL. */
static __always_inline const struct lb4_frontend *lb_frontend(__u32 revnat_id)
{
	const struct lb4_frontend *fe = bpf_map_lookup_elem(&lb4_frontends, &revnat_id);

	return fe && fe->service_id ? fe : NULL;
}

enum lb_established_result {
	LB_EST_MISS = 0,   /* no usable flow entry, or its frontend changed: the full path decides */
	LB_EST_OK,         /* `out` is the flow's backend */
	LB_EST_DENIED,     /* the frontend's source ranges no longer admit the client */
};

/*
 * The established-flow path: a flow entry whose frontend slot still holds
 * the frontend it was recorded with (same generation, same service) needs no
 * lb4_services lookup. Source ranges are still checked first, from the
 * frontend's live flags.
 */
static __always_inline int lb_established(const struct lb_flow_state *flow, __be32 client, int new_conn,
					  struct lb_choice *out)
{
	const struct lb4_frontend *fe;
	__u32 service_id;

	if (!flow->found)
		return LB_EST_MISS;
	fe = lb_frontend(flow->entry.revnat_id);
	if (!fe)
		return LB_EST_MISS;
	service_id = fe->service_id;
	if (service_id != flow->entry.service_id || fe->generation != flow->entry.frontend_generation)
		return LB_EST_MISS;
	if (unlikely(fe->flags & DSRLB_SVC_F_SOURCE_RANGES) && !lb_source_allowed(service_id, client))
		return LB_EST_DENIED;
	return lb_flow_backend(service_id, flow, new_conn, out) ? LB_EST_OK : LB_EST_MISS;
}

/* The generation of the frontend in `svc`'s slot (0: none written, so its flows always take the full path). */
static __always_inline __u32 lb_frontend_generation(const struct lb4_service *svc)
{
	const struct lb4_frontend *fe = lb_frontend(svc->revnat_id);

	return fe && fe->service_id == svc->service_id ? fe->generation : 0;
}

/*
 * ClientIP affinity: the client's backend while unexpired and still usable.
 * The client is its address (XDP, netns_cookie 0) or its network namespace
 * (the socket hooks: client 0).
 */
static __always_inline int lb_affinity_backend(const struct lb4_service *svc, __be32 client, __u64 netns_cookie,
					       __u64 now, struct lb_choice *out)
{
	struct lb4_affinity_key key = { .client = client, .service_id = svc->service_id, .netns_cookie = netns_cookie };
	const struct lb4_affinity *a = bpf_map_lookup_elem(&lb4_affinity, &key);
	__u64 last_used;
	__u32 id, generation;

	if (!a)
		return 0;
	last_used = a->last_used_ns;
	id = a->backend_id;
	generation = a->backend_generation;
	if (now - last_used > (__u64)svc->affinity_timeout * DSRLB_NSEC_PER_SEC)
		return 0;
	return lb_recorded_backend(id, generation, out) && !backend_terminating(&out->backend);
}

static __always_inline void lb_affinity_update(const struct lb4_service *svc, __be32 client, __u64 netns_cookie,
					       __u64 now, const struct lb_choice *choice)
{
	struct lb4_affinity_key key = { .client = client, .service_id = svc->service_id, .netns_cookie = netns_cookie };
	struct lb4_affinity value = {
		.last_used_ns = now,
		.backend_id = choice->backend_id,
		.backend_generation = choice->backend.generation,
	};

	bpf_map_update_elem(&lb4_affinity, &key, &value, BPF_ANY);
}

/*
 * A backend for a flow without a usable flow entry: the client's affinity
 * entry, else the Maglev slot of `hash` (the 5-tuple's flow hash). Writes
 * nothing; `*now` is the time affinity was judged at. `netns_cookie`: 0 for
 * XDP (the client is flow->saddr), the client's network namespace for the
 * socket hooks.
 */
static __always_inline int lb_pick(const struct lb4_service *svc, const struct lb4_tuple *flow,
				   __u32 hash, __u64 netns_cookie, __u64 *now, struct lb_choice *out)
{
	if (!svc->backend_count)
		return LB_NO_ENDPOINTS;
	if (svc->flags & DSRLB_SVC_F_AFFINITY) {
		*now = bpf_ktime_get_ns();
		if (lb_affinity_backend(svc, netns_cookie ? 0 : flow->saddr, netns_cookie, *now, out))
			return LB_OK;
		/* Every connection of a client hashes alike: no source port. */
		hash = flow_hash(flow, 0);
	}
	if (!lb_backend(maglev_backend(svc, hash), out))
		return LB_NO_BACKEND;
	if (backend_terminating(&out->backend))
		return LB_TERMINATING;
	return LB_OK;
}

/*
 * The stateless path's second chance (docs/datapath.md): the backend the
 * service's previous table holds in the flow's slot, when it has one, it
 * differs from the current table's `cur_id`, and it still exists. A
 * terminating one counts for TCP (its existing connections are what it is
 * for) but not for UDP, where a new flow cannot be told from an old one and
 * new flows must never reach a terminating backend.
 */
static __always_inline int lb_second_chance(__u32 service_id, __u32 hash, __u32 cur_id, __u8 proto,
					    struct lb_choice *out)
{
	__u32 id = maglev_prev_backend(service_id, hash);

	return id != DSRLB_BACKEND_ID_NONE && id != cur_id && lb_backend(id, out) &&
	       (proto == IPPROTO_TCP || !backend_terminating(&out->backend));
}

/*
 * Picks the backend for the packet's flow (`flow`: the client tuple as on
 * the wire, flags 0; `state`: its lb4_flows entry, read once by the caller;
 * `seen`: flow_state_seen() of the packet; `hash`: flow_hash(flow, 1)). New flows are recorded in
 * lb4_flows_new (unconfirmed: only the pod's reply promotes them, flow_confirm.h) and, with affinity, refresh the client's affinity entry (like
 * kube-proxy, which refreshes it per new connection).
 *
 * (Measured: inserting a SYN's pick with BPF_NOEXIST instead of looking the
 * tuple up first saves nothing, the insert pays the same bucket miss, and
 * costs a retransmitted SYN an LRU pop; so every packet looks up first.)
 */
static __always_inline int lb_select(const struct lb4_service *svc, const struct lb4_tuple *flow,
				     const struct lb_flow_state *state, int new_conn, __u8 seen, __u32 hash,
				     struct lb_choice *out)
{
	struct lb4_flow entry = {
		.service_id = svc->service_id,
		.revnat_id = svc->revnat_id,
		.frontend_generation = lb_frontend_generation(svc),
		.state = seen,
	};
	__u64 now = 0;
	int rc;

	if (likely(lb_flow_backend(svc->service_id, state, new_conn, out))) {
		/* Its frontend slot changed (a new generation) but the frontend still leads to the
		 * flow's service: record the slot as it is now, so the next packet takes the short path. */
		entry.state = flow_next_state(state->entry.state, seen);
		if (state->entry.frontend_generation != entry.frontend_generation ||
		    state->entry.revnat_id != entry.revnat_id) {
			entry.backend_id = state->entry.backend_id;
			entry.backend_generation = state->entry.backend_generation;
			entry.created_s = state->entry.created_s;
			entry.flags = state->entry.flags;
			if (state->where == TABLE_ESTABLISHED)
				bpf_map_update_elem(&lb4_flows, flow, &entry, BPF_ANY);
			else
				bpf_map_update_elem(&lb4_flows_new, flow, &entry, BPF_ANY);
		} else if (state->entry.state != entry.state) {
			lb_flow_set_state(state, entry.state);
		}
		return LB_OK;
	}
	rc = lb_pick(svc, flow, hash, 0, &now, out);
	if (rc != LB_OK)
		return rc;

	/* Only a new flow reads the clock (affinity may have already). */
	if (!now)
		now = bpf_ktime_get_ns();
	entry.created_s = now / DSRLB_NSEC_PER_SEC;
	entry.backend_id = out->backend_id;
	entry.backend_generation = out->backend.generation;
	/* A stale established entry would hide the new one: it goes. */
	if (state->where == TABLE_ESTABLISHED)
		bpf_map_delete_elem(&lb4_flows, flow);
	bpf_map_update_elem(&lb4_flows_new, flow, &entry, BPF_ANY);
	if (svc->flags & DSRLB_SVC_F_AFFINITY)
		lb_affinity_update(svc, flow->saddr, 0, now, out);
	return LB_OK;
}

#endif /* DSRLB_LB_H */
