/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maglev.h - consistent hashing: a flow hash indexes the service's Maglev
 * table (generated in userspace, src/reconcile) of maglev_size slots, and
 * its previous table (lb4_maglev_prev) when it has one.
 */
#ifndef DSRLB_MAGLEV_H
#define DSRLB_MAGLEV_H

#include "maps.h"

/* The entry (backend id, DSRLB_MAGLEV_F_MOVED) in the slot `hash` falls in of the `size`-slot table `outer[service_id]`. */
static __always_inline __u32 maglev_slot(void *outer, __u32 service_id, __u32 size, __u32 hash)
{
	__u32 slot, index;
	__u32 *ids;
	void *table;

	if (!size)
		return DSRLB_BACKEND_ID_NONE;
	table = bpf_map_lookup_elem(outer, &service_id);
	if (!table)
		return DSRLB_BACKEND_ID_NONE;
	slot = hash % size;
	index = slot / DSRLB_MAGLEV_SLOTS_PER_ENTRY;
	ids = bpf_map_lookup_elem(table, &index);
	if (!ids)
		return DSRLB_BACKEND_ID_NONE;
	return ids[slot % DSRLB_MAGLEV_SLOTS_PER_ENTRY];
}

/* The hash's slot of the service's table, with its moved mark; DSRLB_BACKEND_ID_NONE without one. */
static __always_inline __u32 maglev_entry(const struct lb4_service *svc, __u32 hash)
{
	return maglev_slot(&lb4_maglev, svc->service_id, svc->maglev_size, hash);
}

/* The backend id in the hash's slot of the service's table, or DSRLB_BACKEND_ID_NONE. */
static __always_inline __u32 maglev_backend(const struct lb4_service *svc, __u32 hash)
{
	return maglev_entry(svc, hash) & DSRLB_MAGLEV_ID_MASK;
}

/* The same in the service's previous table; DSRLB_BACKEND_ID_NONE when it has none. */
static __always_inline __u32 maglev_prev_backend(__u32 service_id, __u32 hash)
{
	const __u32 *size = bpf_map_lookup_elem(&lb4_maglev_prev_size, &service_id);

	if (!size)
		return DSRLB_BACKEND_ID_NONE;
	return maglev_slot(&lb4_maglev_prev, service_id, *size, hash) & DSRLB_MAGLEV_ID_MASK;
}

#endif /* DSRLB_MAGLEV_H */
