/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * snat.h - SNAT mode's connection table (docs/design.md §1.6): a client flow
 * leaves the LB node as node:port -> pod, and the pod's replies to
 * node:port are turned back into frontend -> client here.
 *
 * lb4_snat (established) and lb4_snat_new (unconfirmed) hold both
 * directions (tables.h); a new mapping goes to lb4_snat_new, its reply entry
 * first with BPF_NOEXIST, which is what reserves the port (after a look
 * into lb4_snat); flow_confirm.h moves both when the pod confirms.
 */
#ifndef DSRLB_SNAT_H
#define DSRLB_SNAT_H

#include "maps.h"
#include "parse.h"
#include "tables.h"

static __always_inline int snat_port_in_range(const struct dsrlb_config *cfg, __be16 port)
{
	__u16 p = bpf_ntohs(port);

	return p >= cfg->snat_port_min && p <= cfg->snat_port_max;
}

/* The entry of `key` (either direction), established first; `*where`: enum table_where. */
static __always_inline const struct lb4_snat_entry *snat_find(const struct lb4_tuple *key, int *where)
{
	return table_find(&lb4_snat, &lb4_snat_new, key, where);
}

/*
 * A reply to one of our SNAT ports: copies the rewrite into `out`. Returns
 * where its entry is (enum table_where; TABLE_NONE: not such a reply).
 */
static __always_inline int snat_reply_lookup(const struct pkt4 *p, const struct dsrlb_config *cfg,
					     struct lb4_snat_entry *out)
{
	struct lb4_tuple key = p->tuple;
	const struct lb4_snat_entry *e;
	int where;

	if (p->tuple.daddr != cfg->node_address || !snat_port_in_range(cfg, p->tuple.dport))
		return TABLE_NONE;
	key.flags = DSRLB_TUPLE_F_REPLY;
	e = snat_find(&key, &where);
	if (!e)
		return TABLE_NONE;
	*out = *e;
	return where;
}

static __always_inline void snat_reply_key(struct lb4_tuple *key, const struct lb4_backend *be,
					   const struct dsrlb_config *cfg, __u8 proto, __be16 port)
{
	key->saddr = be->address;
	key->daddr = cfg->node_address;
	key->sport = be->port;
	key->dport = port;
	key->proto = proto;
	key->flags = DSRLB_TUPLE_F_REPLY;
}

/*
 * The source this client flow leaves with towards backend `be`: an
 * existing mapping while both its directions exist, else a new port tried
 * from `hash` on. Returns < 0 when every port tried is taken.
 */
static __always_inline int snat_forward(const struct pkt4 *p, const struct lb4_backend *be,
					const struct dsrlb_config *cfg, __u32 hash,
					struct lb4_snat_entry *out)
{
	const struct lb4_tuple *flow = &p->tuple;
	struct lb4_snat_entry reply = {
		.saddr = flow->daddr,
		.daddr = flow->saddr,
		.sport = flow->dport,
		.dport = flow->sport,
	};
	const struct lb4_snat_entry *e;
	struct lb4_tuple rkey = {};
	__u32 range, i;
	int where, rwhere;

	e = snat_find(flow, &where);
	if (e) {
		*out = *e;
		snat_reply_key(&rkey, be, cfg, flow->proto, out->sport);
		if (out->daddr == be->address && out->dport == be->port && snat_find(&rkey, &rwhere))
			return 0;
		/* A stale established mapping would hide the new one: it goes. */
		if (where == TABLE_ESTABLISHED)
			bpf_map_delete_elem(&lb4_snat, flow);
	}

	if (cfg->snat_port_max < cfg->snat_port_min)
		return -1;
	range = cfg->snat_port_max - cfg->snat_port_min + 1;
	for (i = 0; i < DSRLB_SNAT_PORT_TRIES; i++) {
		__be16 port = bpf_htons(cfg->snat_port_min + (hash + i) % range);

		snat_reply_key(&rkey, be, cfg, flow->proto, port);
		if (bpf_map_lookup_elem(&lb4_snat, &rkey) ||
		    bpf_map_update_elem(&lb4_snat_new, &rkey, &reply, BPF_NOEXIST))
			continue;
		out->saddr = cfg->node_address;
		out->daddr = be->address;
		out->sport = port;
		out->dport = be->port;
		bpf_map_update_elem(&lb4_snat_new, flow, out, BPF_ANY);
		return 0;
	}
	return -1;
}

#endif /* DSRLB_SNAT_H */
