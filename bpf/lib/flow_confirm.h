/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * flow_confirm.h - the LB node's SNAT-mode flow state in two tables
 * (tables.h; docs/datapath.md "Flow state on the LB node"): a new flow's
 * lb4_flows entry and both its lb4_snat entries are written unconfirmed
 * (lb4_flows_new, lb4_snat_new); the pod's replies come back through this
 * node, and its first TCP segment that is neither SYN, RST nor FIN moves
 * all three to the established tables. The pod sends such a segment only
 * once its side of the handshake is complete, which a flood of unanswered
 * or forged tuples never achieves, so the flood's inserts evict only each
 * other. FIN and RST as revnat.h does for the backend node's state. UDP is
 * never promoted: nothing tells an answered flow from a one-way one.
 */
#ifndef DSRLB_FLOW_CONFIRM_H
#define DSRLB_FLOW_CONFIRM_H

#include <linux/tcp.h>
#include "maps.h"
#include "compiler.h"
#include "parse.h"
#include "stats.h"
#include "tables.h"

/* The client tuple (lb4_flows key, lb4_snat forward key) of SNAT reply entry `reply`. */
static __always_inline void snat_client_tuple(const struct lb4_snat_entry *reply, __u8 proto, struct lb4_tuple *out)
{
	*out = (struct lb4_tuple){
		.saddr = reply->daddr, .daddr = reply->saddr,
		.sport = reply->dport, .dport = reply->sport, .proto = proto,
	};
}

/* Moves both SNAT entries of a connection from table `from` to table `to`. */
static __always_inline void snat_move(void *to, void *from, const struct lb4_tuple *client,
				      const struct lb4_tuple *rkey, const struct lb4_snat_entry *reply)
{
	const struct lb4_snat_entry *fwd = bpf_map_lookup_elem(from, client);
	struct lb4_snat_entry copy;

	if (fwd) {
		copy = *fwd;
		table_move(to, from, client, &copy);
	}
	table_move(to, from, rkey, reply);
}

/*
 * XDP, a pod's reply `p` to a SNAT port, whose lb4_snat entry `reply` was
 * found at `where` (enum table_where): what the pod's segment says of the
 * connection.
 *  - RST: the connection is gone; its entries too.
 *  - FIN: the pod is closing; established entries go back to unconfirmed,
 *    the flow marked CLOSING so the last ACKs never promote it again.
 *  - anything else but a SYN(-ACK), of an unconfirmed connection: the pod
 *    completed its handshake: promoted.
 * An established connection's ordinary segment costs nothing more here.
 */
static __always_inline void flow_track_snat_reply(const struct pkt4 *p, const struct lb4_snat_entry *reply, int where)
{
	const struct tcphdr *tcp = pkt_tcp(p);
	struct lb4_tuple client, rkey = p->tuple;
	struct lb4_flow *slot, f = {};
	int fwhere;

	if (!tcp || (where == TABLE_ESTABLISHED && likely(!tcp->fin && !tcp->rst)))
		return;
	rkey.flags = DSRLB_TUPLE_F_REPLY;
	snat_client_tuple(reply, p->tuple.proto, &client);
	slot = table_find(&lb4_flows, &lb4_flows_new, &client, &fwhere);
	if (slot)
		f = *slot;
	if (tcp->rst) {
		bpf_map_delete_elem(&lb4_flows, &client);
		bpf_map_delete_elem(&lb4_flows_new, &client);
		bpf_map_delete_elem(&lb4_snat, &client);
		bpf_map_delete_elem(&lb4_snat_new, &client);
		bpf_map_delete_elem(&lb4_snat, &rkey);
		bpf_map_delete_elem(&lb4_snat_new, &rkey);
		stat_inc(DSRLB_STAT_FLOW_CLOSED);
		return;
	}
	if (tcp->fin) {
		if (where != TABLE_ESTABLISHED && (!slot || (f.flags & DSRLB_FLOW_F_CLOSING)))
			return;
		if (slot && !(f.flags & DSRLB_FLOW_F_CLOSING)) {
			f.flags |= DSRLB_FLOW_F_CLOSING;
			if (fwhere == TABLE_ESTABLISHED)
				table_move(&lb4_flows_new, &lb4_flows, &client, &f);
			else
				slot->flags = f.flags; /* in place: no LRU element taken (lb_flow_set_state) */
		}
		if (where == TABLE_ESTABLISHED)
			snat_move(&lb4_snat_new, &lb4_snat, &client, &rkey, reply);
		stat_inc(DSRLB_STAT_FLOW_CLOSED);
		return;
	}
	if (tcp->syn || where != TABLE_UNCONFIRMED || (f.flags & DSRLB_FLOW_F_CLOSING))
		return;
	snat_move(&lb4_snat, &lb4_snat_new, &client, &rkey, reply);
	if (fwhere == TABLE_UNCONFIRMED)
		table_move(&lb4_flows, &lb4_flows_new, &client, &f);
	stat_inc(DSRLB_STAT_FLOW_PROMOTED);
}

/*
 * tc egress, a local backend's TCP segment `tcp` of the flow the client sent
 * as `client`: this node both balanced the flow and serves it (SNAT mode to
 * a local backend, ClientIP affinity), so the pod's reply never comes back
 * through XDP to confirm its lb4_flows entry; it is confirmed here, with the
 * reverse-NAT entry (revnat_track_tcp calls this only when that entry
 * changes: once or twice a connection). The same rules as above; a flow
 * without an lb4_flows entry (the stateless DSR path) costs one lookup.
 */
static __always_inline void flow_track_local(const struct lb4_tuple *client, const struct tcphdr *tcp)
{
	struct lb4_flow *slot, f;
	int where;

	slot = table_find(&lb4_flows, &lb4_flows_new, client, &where);
	if (!slot)
		return;
	f = *slot;
	if (tcp->rst) {
		table_delete(&lb4_flows, &lb4_flows_new, client, where);
		stat_inc(DSRLB_STAT_FLOW_CLOSED);
		return;
	}
	if (tcp->fin) {
		if (f.flags & DSRLB_FLOW_F_CLOSING)
			return;
		f.flags |= DSRLB_FLOW_F_CLOSING;
		if (where == TABLE_ESTABLISHED)
			table_move(&lb4_flows_new, &lb4_flows, client, &f);
		else
			slot->flags = f.flags; /* in place: no LRU element taken (lb_flow_set_state) */
		stat_inc(DSRLB_STAT_FLOW_CLOSED);
		return;
	}
	if (tcp->syn || where != TABLE_UNCONFIRMED || (f.flags & DSRLB_FLOW_F_CLOSING))
		return;
	table_move(&lb4_flows, &lb4_flows_new, client, &f);
	stat_inc(DSRLB_STAT_FLOW_PROMOTED);
}

#endif /* DSRLB_FLOW_CONFIRM_H */
