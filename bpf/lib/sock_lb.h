/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * sock_lb.h - socket-level load balancing on cgroup sock_addr hooks
 * (docs/datapath.md, "Socket LB"): a connect() or an unconnected sendmsg()
 * to a frontend is sent to a backend chosen once, from the same lb4_services,
 * Maglev, backend and affinity maps as the XDP path, so no packet of the
 * connection is ever rewritten. recvmsg() and getpeername() show the
 * frontend the application addressed.
 */
#ifndef DSRLB_SOCK_LB_H
#define DSRLB_SOCK_LB_H

#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "maps.h"
#include "compiler.h"
#include "config.h"
#include "hash.h"
#include "lb.h"
#include "monitor.h"
#include "stats.h"

/* cgroup sock_addr verdicts: 1 lets the call go on; 0 fails it (EPERM, or
 * the error set with bpf_set_retval). */
#define SOCK_CONTINUE 1
#define SOCK_REJECT   0

/* The frontend the call addresses, as {client, frontend} tuple fields. */
static __always_inline void sock_tuple(const struct bpf_sock_addr *ctx, struct lb4_tuple *t)
{
	t->daddr = ctx->user_ip4;
	t->dport = (__be16)ctx->user_port;
	t->proto = (__u8)ctx->protocol;
}

/*
 * The lb4_services entry whose backends an in-cluster client gets for `t`:
 * the frontend's own, or the ClusterIP's of the same service port when the
 * frontend's external traffic policy differs from the internal one (like
 * kube-proxy, traffic from inside follows internalTrafficPolicy). An address
 * of another node with a NodePort's port finds the {0.0.0.0, nodePort}
 * entry: the NodePort on any node address.
 */
static __always_inline const struct lb4_service *sock_service(const struct lb4_tuple *t)
{
	const struct lb4_service *svc;
	const struct lb4_revnat *cluster_ip;
	struct lb4_key key = { .port = t->dport, .proto = t->proto };
	__u32 revnat;

	if (lb_port_unused(t))
		return NULL;
	svc = lb_service(t);
	if (!svc) {
		if (!bpf_map_lookup_elem(&node_addrs, &t->daddr))
			return NULL;
		return bpf_map_lookup_elem(&lb4_services, &key);
	}
	revnat = svc->internal_revnat;
	if (!revnat)
		return svc;
	cluster_ip = bpf_map_lookup_elem(&lb4_revnat, &revnat);
	if (!cluster_ip || !cluster_ip->port) /* port 0: a free revnat id */
		return svc;
	key.address = cluster_ip->address;
	key.port = cluster_ip->port;
	return bpf_map_lookup_elem(&lb4_services, &key) ?: svc;
}

/*
 * A backend for a new connection or datagram: affinity (per network
 * namespace), else a random Maglev slot; a slot holding a terminating or
 * freed backend (its table is being rebuilt without it) moves on to the
 * next one. `t.saddr` stands for the client (its netns cookie, folded),
 * `t.sport` is random.
 */
static __always_inline int sock_pick(const struct lb4_service *svc, const struct lb4_tuple *t,
				     __u64 netns, struct lb_choice *out)
{
	__u32 hash = flow_hash(t, 1);
	int rc = LB_NO_BACKEND;
	__u64 now = 0;
	__u32 i;

	for (i = 0; i < DSRLB_SOCK_PICK_TRIES; i++) {
		rc = lb_pick(svc, t, hash + i, netns, &now, out);
		if (rc == LB_OK || rc == LB_NO_ENDPOINTS)
			break;
	}
	if (rc == LB_OK && (svc->flags & DSRLB_SVC_F_AFFINITY))
		lb_affinity_update(svc, 0, netns, now, out);
	return rc;
}

/* Replies from `be` to this socket are to show `t`'s frontend (UDP). */
static __always_inline void sock_revnat_record(struct bpf_sock_addr *ctx, const struct lb4_tuple *t,
					       const struct lb4_backend *be)
{
	struct lb4_sock_revnat_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = be->address,
		.port = be->port,
	};
	struct lb4_sock_revnat value = {
		.last_used_ns = bpf_ktime_get_ns(),
		.address = t->daddr,
		.port = t->dport,
	};

	bpf_map_update_elem(&lb4_sock_revnat, &key, &value, BPF_ANY);
}

/* A connected socket remembers its frontend (getpeername, UDP replies). */
static __always_inline void sock_peer_record(struct bpf_sock_addr *ctx, const struct lb4_tuple *t,
					     const struct lb4_backend *be)
{
	struct lb4_sock_peer *peer;
	struct bpf_sock *sk = ctx->sk;

	if (!sk)
		return;
	peer = bpf_sk_storage_get(&lb4_sock_peer, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!peer)
		return;
	peer->frontend_address = t->daddr;
	peer->frontend_port = t->dport;
	peer->backend_address = be->address;
	peer->backend_port = be->port;
}

/* Host-namespace-only mode: sockets of other network namespaces are left alone. */
static __always_inline int sock_netns_translated(const struct dsrlb_config *cfg, __u64 netns)
{
	return !cfg->sock_netns_cookie || cfg->sock_netns_cookie == netns;
}

/*
 * connect4 (`connected`) and sendmsg4: a frontend's address is replaced by
 * a backend's. No backend: the call fails with ECONNREFUSED at once, rather
 * than a SYN or datagram into nowhere.
 */
static __always_inline int sock_forward(struct bpf_sock_addr *ctx, int connected)
{
	__u8 hook = connected ? DSRLB_HOOK_SOCK_CONNECT : DSRLB_HOOK_SOCK_SENDMSG;
	const struct lb4_service *svc;
	const struct dsrlb_config *cfg;
	struct lb4_revnat frontend = {};
	struct lb_choice ch = {};
	struct lb4_tuple t = {}, to = {};
	__u64 netns;

	sock_tuple(ctx, &t);
	if (t.proto != IPPROTO_TCP && t.proto != IPPROTO_UDP)
		return count(DSRLB_STAT_SOCK_NOT_SERVICE, SOCK_CONTINUE);
	svc = sock_service(&t);
	if (!svc)
		return count(DSRLB_STAT_SOCK_NOT_SERVICE, SOCK_CONTINUE);
	cfg = config_get();
	netns = bpf_get_netns_cookie(ctx);
	if (unlikely(!cfg) || !sock_netns_translated(cfg, netns))
		return count(DSRLB_STAT_SOCK_OTHER_NETNS, SOCK_CONTINUE);

	frontend.address = t.daddr;
	frontend.port = t.dport;
	to.daddr = t.daddr;
	to.dport = t.dport;
	to.proto = t.proto;
	t.saddr = (__u32)netns ^ (__u32)(netns >> 32);
	t.sport = (__be16)bpf_get_prandom_u32();
	if (sock_pick(svc, &t, netns, &ch) != LB_OK) {
		bpf_set_retval(-ECONNREFUSED);
		monitor_sock(DSRLB_MONITOR_DROP, DSRLB_STAT_SOCK_REJECT, hook, SOCK_REJECT, &to, &frontend);
		return count(DSRLB_STAT_SOCK_REJECT, SOCK_REJECT);
	}

	if (t.proto == IPPROTO_UDP)
		sock_revnat_record(ctx, &t, &ch.backend);
	if (connected)
		sock_peer_record(ctx, &t, &ch.backend);
	ctx->user_ip4 = ch.backend.address;
	ctx->user_port = ch.backend.port;
	to.daddr = ch.backend.address;
	to.dport = ch.backend.port;
	monitor_sock(DSRLB_MONITOR_TRACE, DSRLB_STAT_SOCK_XLATE, hook, SOCK_CONTINUE, &to, &frontend);
	return count(DSRLB_STAT_SOCK_XLATE, SOCK_CONTINUE);
}

/* The frontend a datagram from `addr:port` answers for, if this socket sent it one (and it is fresh). */
static __always_inline int sock_revnat_lookup(struct bpf_sock_addr *ctx, __be32 addr, __be16 port,
					      struct lb4_revnat *out)
{
	struct lb4_sock_revnat_key key = { .cookie = bpf_get_socket_cookie(ctx), .address = addr, .port = port };
	struct lb4_sock_revnat *e = bpf_map_lookup_elem(&lb4_sock_revnat, &key);
	__u64 now;

	if (!e)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - e->last_used_ns > (__u64)DSRLB_SOCK_REVNAT_TIMEOUT_SEC * DSRLB_NSEC_PER_SEC) {
		bpf_map_delete_elem(&lb4_sock_revnat, &key);
		return 0;
	}
	e->last_used_ns = now;
	out->address = e->address;
	out->port = e->port;
	return 1;
}

/* The frontend a connect of this socket was translated from, if `addr:port` is its backend. */
static __always_inline int sock_peer_lookup(struct bpf_sock_addr *ctx, __be32 addr, __be16 port,
					    struct lb4_revnat *out)
{
	struct bpf_sock *sk = ctx->sk;
	struct lb4_sock_peer *peer;

	if (!sk)
		return 0;
	peer = bpf_sk_storage_get(&lb4_sock_peer, sk, 0, 0);
	if (!peer || peer->backend_address != addr || peer->backend_port != port)
		return 0;
	out->address = peer->frontend_address;
	out->port = peer->frontend_port;
	return 1;
}

/*
 * recvmsg4 (`datagram`) and getpeername4: a backend's address is shown as
 * the frontend the socket addressed. A UDP socket may have sent to several
 * frontends (lb4_sock_revnat), a connected one has its peer storage.
 */
static __always_inline int sock_reverse(struct bpf_sock_addr *ctx, int datagram)
{
	__be32 addr = ctx->user_ip4;
	__be16 port = (__be16)ctx->user_port;
	struct lb4_revnat frontend;

	if (!(datagram && sock_revnat_lookup(ctx, addr, port, &frontend)) &&
	    !sock_peer_lookup(ctx, addr, port, &frontend))
		return count(DSRLB_STAT_SOCK_REVNAT_NONE, SOCK_CONTINUE);
	ctx->user_ip4 = frontend.address;
	ctx->user_port = frontend.port;
	return count(DSRLB_STAT_SOCK_REVNAT, SOCK_CONTINUE);
}

#endif /* DSRLB_SOCK_LB_H */
