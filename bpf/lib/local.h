/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * local.h - what this node may deliver or rewrite as a backend node: a
 * decapsulated packet only to a local backend of the frontend its option
 * names, a reply's source only when it is a local backend
 * (lb4_local_backends, written by the control plane).
 */
#ifndef DSRLB_LOCAL_H
#define DSRLB_LOCAL_H

#include "maps.h"

enum local_result {
	LOCAL_OK = 0,
	LOCAL_NOT_FRONTEND,   /* the option names no frontend this node has */
	LOCAL_NOT_BACKEND,    /* the inner destination is no local backend of it */
};

/*
 * The service of frontend `fe` for protocol `proto`. A NodePort frontend
 * exists only on its own node, so one naming another node's address stands
 * for this node's frontend on the same port (same Service, same backends).
 */
static __always_inline const struct lb4_service *local_frontend(const struct lb4_revnat *fe, __u8 proto,
								 const struct dsrlb_config *cfg)
{
	struct lb4_key key = { .address = fe->address, .port = fe->port, .proto = proto };
	const struct lb4_service *svc = bpf_map_lookup_elem(&lb4_services, &key);

	if (svc || !bpf_map_lookup_elem(&node_addrs, &fe->address))
		return svc;
	key.address = cfg->node_address;
	return bpf_map_lookup_elem(&lb4_services, &key);
}

/* A packet `in` (client -> backend) that arrived in Geneve naming frontend `fe`: may it be delivered? */
static __always_inline int local_delivery(const struct lb4_tuple *in, const struct lb4_revnat *fe,
					  const struct dsrlb_config *cfg)
{
	const struct lb4_service *svc = local_frontend(fe, in->proto, cfg);
	struct lb4_local_backend_key key = { .address = in->daddr, .port = in->dport, .proto = in->proto };

	if (!svc)
		return LOCAL_NOT_FRONTEND;
	key.service_id = svc->service_id;
	return bpf_map_lookup_elem(&lb4_local_backends, &key) ? LOCAL_OK : LOCAL_NOT_BACKEND;
}

/* The packet's source is a backend on this node (of any service). */
static __always_inline int local_backend_source(const struct lb4_tuple *t)
{
	struct lb4_local_backend_key key = {
		.address = t->saddr, .port = t->sport, .proto = t->proto, .service_id = DSRLB_LOCAL_ANY,
	};

	return bpf_map_lookup_elem(&lb4_local_backends, &key) != NULL;
}

/*
 * tc egress: may a reply with tuple `t` (or a pod's error about it) be
 * rewritten to the frontend of its lb4_dsr_revnat entry `fe`? Only when its
 * source is a backend here, never a host socket that happens to match an
 * entry: an entry stamped at the current epoch was written for a local
 * backend (nothing has been removed since), any other is checked.
 */
static __always_inline int revnat_source_local(const struct lb4_tuple *t, const struct lb4_dsr_frontend *fe,
					       const struct dsrlb_config *cfg)
{
	return (cfg && fe->epoch && fe->epoch == cfg->local_epoch) || local_backend_source(t);
}

#endif /* DSRLB_LOCAL_H */
