/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maglev.h - consistent hashing: a flow hash indexes the service's Maglev
 * table (generated in userspace, src/datapath) of maglev_size slots.
 */
#ifndef DSRLB_MAGLEV_H
#define DSRLB_MAGLEV_H

#include "maps.h"

/* The backend id in the slot the hash falls in, or DSRLB_BACKEND_ID_NONE. */
static __always_inline __u32 maglev_backend(const struct lb4_service *svc, __u32 hash)
{
	__u32 size = svc->maglev_size;
	__u32 slot, index;
	__u32 *ids;
	void *table;

	if (!size)
		return DSRLB_BACKEND_ID_NONE;
	table = bpf_map_lookup_elem(&lb4_maglev, &svc->service_id);
	if (!table)
		return DSRLB_BACKEND_ID_NONE;
	slot = hash % size;
	index = slot / DSRLB_MAGLEV_SLOTS_PER_ENTRY;
	ids = bpf_map_lookup_elem(table, &index);
	if (!ids)
		return DSRLB_BACKEND_ID_NONE;
	return ids[slot % DSRLB_MAGLEV_SLOTS_PER_ENTRY];
}

#endif /* DSRLB_MAGLEV_H */
