/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flow_known.h - does this backend node know a flow? The one question the
 * rescue (rescue.h) asks of the backend node's per-flow state; what that
 * state is, and how long it lives, is the reverse-NAT tables' business
 * (established and unconfirmed: revnat.h).
 */
#ifndef DSRLB_FLOW_KNOWN_H
#define DSRLB_FLOW_KNOWN_H

#include "maps.h"
#include "parse.h"
#include "revnat.h"

/* A packet `in` (client -> local backend) of a flow this node serves: its replies have an entry. */
static __always_inline int backend_flow_known(const struct lb4_tuple *in)
{
	struct lb4_tuple reply;
	int where;

	tuple_reverse(in, &reply);
	return revnat_find(&reply, &where) != NULL;
}

#endif /* DSRLB_FLOW_KNOWN_H */
