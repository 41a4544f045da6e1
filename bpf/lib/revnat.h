/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * revnat.h - reverse-NAT state in two tables (docs/datapath.md "Reverse-NAT
 * state"): a client packet delivered here writes lb4_dsr_revnat_new
 * (unconfirmed); the pod's first TCP segment that is neither SYN, RST nor
 * FIN moves the entry to lb4_dsr_revnat (established). A pod sends such a
 * segment only once its side of the handshake is complete, which a flood of
 * unanswered or spoofed tuples never achieves (a bogus ACK is answered with
 * RST), so the flood's inserts evict only each other. Lookups go established
 * first: one lookup for a live connection, as before.
 */
#ifndef DSRLB_REVNAT_H
#define DSRLB_REVNAT_H

#include <linux/tcp.h>
#include "maps.h"
#include "compiler.h"
#include "parse.h"
#include "stats.h"
#include "flow_confirm.h"
#include "tables.h"

static __always_inline int dsr_same_frontend(const struct lb4_dsr_frontend *a, const struct lb4_dsr_frontend *b)
{
	return a->address == b->address && a->port == b->port && a->epoch == b->epoch;
}

/* The entry of reply tuple `t`, established first; `*where` (enum table_where) says which table. */
static __always_inline const struct lb4_dsr_frontend *revnat_find(const struct lb4_tuple *t, int *where)
{
	return table_find(&lb4_dsr_revnat, &lb4_dsr_revnat_new, t, where);
}

/*
 * XDP: writes `fe` for reply tuple `t` whose entry is `cur` (found at
 * `where`, or none): an established entry stays established, anything else
 * is (re)written unconfirmed; its flags stay.
 */
static __always_inline void revnat_store(const struct lb4_tuple *t, const struct lb4_dsr_frontend *fe,
					 const struct lb4_dsr_frontend *cur, int where)
{
	struct lb4_dsr_frontend v = *fe;

	v.flags = cur ? cur->flags : 0;
	if (where == TABLE_ESTABLISHED)
		bpf_map_update_elem(&lb4_dsr_revnat, t, &v, BPF_ANY);
	else
		bpf_map_update_elem(&lb4_dsr_revnat_new, t, &v, BPF_ANY);
}

/*
 * Reverse-NAT state for a packet `in` (client -> pod) delivered here by local
 * DNAT: its replies get the frontend as their source at tc egress.
 */
static __always_inline void dsr_revnat_record(const struct lb4_tuple *in, const struct lb4_dsr_frontend *fe)
{
	const struct lb4_dsr_frontend *cur;
	struct lb4_tuple reply;
	int where;

	tuple_reverse(in, &reply);
	cur = revnat_find(&reply, &where);
	/* Every packet of the flow records it: write only what changed. */
	if (cur && dsr_same_frontend(cur, fe))
		return;
	revnat_store(&reply, fe, cur, where);
}

/*
 * tc egress, a reply `t` with no reverse-NAT entry: when its source is a
 * local backend (lb4_backend_frontends) the miss is counted, and the reply
 * gets its backend's only frontend in `fe` when it has one (returns 0).
 * Returns < 0 to leave the packet as it is.
 */
static __always_inline int revnat_miss(const struct lb4_tuple *t, struct lb4_dsr_frontend *fe)
{
	struct lb4_backend_addr key = { .address = t->saddr, .port = t->sport, .proto = t->proto };
	const struct lb4_revnat *only = bpf_map_lookup_elem(&lb4_backend_frontends, &key);

	if (!only)
		return -1;
	if (!only->address) {
		stat_inc(DSRLB_STAT_REVNAT_MISS_UNKNOWN);
		return -1;
	}
	*fe = (struct lb4_dsr_frontend){ .address = only->address, .port = only->port };
	stat_inc(DSRLB_STAT_REVNAT_MISS_REWRITTEN);
	return 0;
}

/*
 * tc egress, after a TCP reply `t` was rewritten from entry `fe` (found at
 * `where`): what the pod's segment says about the connection.
 *  - RST: the connection is gone; its entry too.
 *  - FIN: the pod is closing; an established entry goes back to
 *    unconfirmed, marked CLOSING so the last ACKs never promote it again
 *    (a closed connection takes no room among established ones).
 *  - anything else but a SYN(-ACK), from an unconfirmed entry: the pod has
 *    completed its handshake (it answers a bogus ACK with RST, never with
 *    this): promoted to established.
 */
static __always_inline void revnat_track_tcp(const struct lb4_tuple *t, const struct tcphdr *tcp,
					     const struct lb4_dsr_frontend *fe, int where)
{
	struct lb4_dsr_frontend v = *fe;
	/* The flow as the client sent it: its lb4_flows entry, when this node also balanced it. */
	struct lb4_tuple client = {
		.saddr = t->daddr, .daddr = fe->address, .sport = t->dport, .dport = fe->port, .proto = t->proto,
	};

	if (where == TABLE_NONE)
		return;
	if (tcp->rst || tcp->fin || (where == TABLE_UNCONFIRMED && !tcp->syn && !(fe->flags & DSRLB_REVNAT_F_CLOSING)))
		flow_track_local(&client, tcp);
	if (tcp->rst) {
		table_delete(&lb4_dsr_revnat, &lb4_dsr_revnat_new, t, where);
		stat_inc(DSRLB_STAT_REVNAT_CLOSED);
		return;
	}
	if (tcp->fin) {
		if (fe->flags & DSRLB_REVNAT_F_CLOSING)
			return;
		v.flags |= DSRLB_REVNAT_F_CLOSING;
		bpf_map_update_elem(&lb4_dsr_revnat_new, t, &v, BPF_ANY);
		if (where == TABLE_ESTABLISHED)
			bpf_map_delete_elem(&lb4_dsr_revnat, t);
		stat_inc(DSRLB_STAT_REVNAT_CLOSED);
		return;
	}
	if (where != TABLE_UNCONFIRMED || tcp->syn || (fe->flags & DSRLB_REVNAT_F_CLOSING))
		return;
	table_move(&lb4_dsr_revnat, &lb4_dsr_revnat_new, t, &v);
	stat_inc(DSRLB_STAT_REVNAT_PROMOTED);
}

#endif /* DSRLB_REVNAT_H */
