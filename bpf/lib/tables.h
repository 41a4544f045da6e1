/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * tables.h - connection state kept in two LRU tables, established and
 * unconfirmed (lb4_dsr_revnat / lb4_dsr_revnat_new, lb4_flows /
 * lb4_flows_new, lb4_snat / lb4_snat_new): an insert into one LRU never
 * evicts from the other, so a flood of new tuples evicts only its own kind.
 * Lookups go established first: one lookup for a live connection.
 */
#ifndef DSRLB_TABLES_H
#define DSRLB_TABLES_H

#include <bpf/bpf_helpers.h>
#include "compiler.h"

enum table_where {
	TABLE_NONE = 0,
	TABLE_ESTABLISHED,
	TABLE_UNCONFIRMED,
};

/* The entry of `key` in `established`, else in `unconfirmed`; `*where` says which. */
static __always_inline void *table_find(void *established, void *unconfirmed, const void *key, int *where)
{
	void *e = bpf_map_lookup_elem(established, key);

	if (likely(e)) {
		*where = TABLE_ESTABLISHED;
		return e;
	}
	e = bpf_map_lookup_elem(unconfirmed, key);
	*where = e ? TABLE_UNCONFIRMED : TABLE_NONE;
	return e;
}

/* Moves `key` (value `v`) from one table to the other: written first, then deleted, so a reader between sees one of them. */
static __always_inline void table_move(void *to, void *from, const void *key, const void *v)
{
	bpf_map_update_elem(to, key, v, BPF_ANY);
	bpf_map_delete_elem(from, key);
}

/* Deletes `key` from the table table_find() found it in (`where`). */
static __always_inline void table_delete(void *established, void *unconfirmed, const void *key, int where)
{
	if (where == TABLE_ESTABLISHED)
		bpf_map_delete_elem(established, key);
	else
		bpf_map_delete_elem(unconfirmed, key);
}

#endif /* DSRLB_TABLES_H */
