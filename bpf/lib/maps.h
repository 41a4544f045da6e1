/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h - every map of the datapath (docs/design.md §2). Both objects include
 * this file; LIBBPF_PIN_BY_NAME makes them share one instance of each map
 * under the pin root the loader passes (the agent's --bpffs-root).
 *
 * Hash maps only userspace writes are BPF_F_NO_PREALLOC: their memory follows
 * the number of services and backends instead of the maximum (lb4_backends is
 * an array instead: see there). Maps the datapath
 * writes are LRU (always preallocated): a full table evicts, never fails.
 */
#ifndef DSRLB_MAPS_H
#define DSRLB_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "dsrlb.h"

/* Frontend {address, port, proto} -> service. Written by the control plane. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSRLB_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb4_key);
	__type(value, struct lb4_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_services SEC(".maps");

/*
 * Destination ports no frontend uses, per protocol (DSRLB_PORT_FILTER_*):
 * a set bit lets a packet that cannot be for a service skip the
 * lb4_services lookup. An inlined array lookup. Written by the control
 * plane; all zero filters nothing.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_PORT_FILTER_WORDS);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_port_filter SEC(".maps");

/*
 * Backend id -> pod address, port, node, flags, generation. Ids start at 1.
 * An array: the lookup on every balanced packet is inlined into a bounds
 * check and a load (a hash lookup cost more than the rest of an established
 * flow's path), and 16 bytes a slot take less memory than hash entries.
 * Slots are freed, not deleted (see struct lb4_backend).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct lb4_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_backends SEC(".maps");

/*
 * Template of one service's Maglev table. BPF_F_INNER_MAP lets every
 * service's table have its own size (lb4_service.maglev_size slots in
 * ceil(maglev_size / DSRLB_MAGLEV_SLOTS_PER_ENTRY) elements); this size is only
 * the template's.
 */
struct lb4_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_MAGLEV_TEMPLATE_ENTRIES);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32[DSRLB_MAGLEV_SLOTS_PER_ENTRY]); /* backend ids */
};

/*
 * Service id -> a Maglev table of that service: the shape of lb4_maglev and
 * lb4_maglev_prev. Arrays (service ids are below DSRLB_MAX_SERVICES): the
 * verifier inlines the lookup, where a hash of maps hashes the key on every
 * packet. A service without a table holds no map or lb4_maglev_none.
 */
#define DSRLB_MAGLEV_OUTER_MAP(name)                                              \
	struct {                                                                  \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                         \
		__uint(max_entries, DSRLB_MAX_SERVICES);                          \
		__type(key, __u32);                                               \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                              \
		__array(values, struct lb4_maglev_inner); /* the last member */   \
	} name SEC(".maps")

/*
 * "No table": what the control plane puts in a slot of lb4_maglev or
 * lb4_maglev_prev to take a table out. Arrays of maps have no batch delete,
 * and each single delete waits for an RCU grace period (~16 ms here), so
 * tables go out many to a batch update pointing at this instead. One element
 * of DSRLB_BACKEND_ID_NONE: a lookup in it finds no backend. Never written.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_INNER_MAP);
	__type(key, __u32);
	__type(value, __u32[DSRLB_MAGLEV_SLOTS_PER_ENTRY]);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_maglev_none SEC(".maps");

/* Service id -> that service's Maglev table (generated in userspace). */
DSRLB_MAGLEV_OUTER_MAP(lb4_maglev);

/*
 * Service id -> the service's previous Maglev table (the one before its last
 * change; docs/datapath.md, "Stateless LB node"): the inner map lb4_maglev
 * held until then, moved here, not copied. Only services changed since they
 * were created have one. Written by the control plane.
 */
DSRLB_MAGLEV_OUTER_MAP(lb4_maglev_prev);

/*
 * Service id -> slots in its lb4_maglev_prev table; 0: none. The datapath
 * looks a previous table up only when this names its size; the control plane
 * zeroes the entry before it replaces the table and writes it after, so a
 * size never meets another table. An array: an inlined read.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_MAX_SERVICES);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_maglev_prev_size SEC(".maps");

/*
 * {local backend, service id} -> backend id (struct lb4_local_backend_key):
 * the backend node's proof that a decapsulated packet's inner destination is
 * a backend of the frontend its option names, and tc egress's that a reply
 * comes from a local backend. Written by the control plane.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSRLB_MAX_LOCAL_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb4_local_backend_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_local_backends SEC(".maps");

/*
 * Revnat id -> the frontend's service id, flags and generation (struct
 * lb4_frontend): the check an established flow makes instead of the
 * lb4_services lookup. An array: inlined, and revnat ids are below
 * DSRLB_MAX_REVNAT. Written by the control plane with lb4_services.
 */
/* 8 bytes: array elements are rounded up to 8, so the 65,536 slots take 512 KiB. */
_Static_assert(sizeof(struct lb4_frontend) == 8, "lb4_frontend");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_MAX_REVNAT);
	__type(key, __u32);
	__type(value, struct lb4_frontend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_frontends SEC(".maps");

/*
 * Revnat id -> frontend; port 0: the id is free. The XDP path takes
 * VIP:port from the packet it balances; this map is for the control plane,
 * lbctl and the socket hooks. An array like lb4_frontends (revnat ids are
 * below DSRLB_MAX_REVNAT): a quarter of a hash's memory.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, DSRLB_MAX_REVNAT);
	__type(key, __u32);
	__type(value, struct lb4_revnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_revnat SEC(".maps");

/*
 * LB node: client tuple -> backend, so a flow survives backend changes.
 * Only for flows the stateless path does not take (docs/datapath.md): SNAT
 * mode, hybrid mode's UDP, services with ClientIP affinity. DSR flows write
 * and read nothing here. This table holds connections the pod confirmed
 * (established): written only when the LB node sees the pod's reply promote
 * an entry of lb4_flows_new (bpf/lib/flow_confirm.h); read first. A separate
 * LRU, so the inserts of new tuples never evict what is here. Size: --flows-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_FLOWS);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_flows SEC(".maps");

/*
 * The same, unconfirmed: every new flow is written here, and stays here
 * unless the pod's reply confirms it: UDP flows, and flows whose replies the
 * LB node never sees (ClientIP affinity in DSR mode). Floods land here.
 * Size: --flows-unconfirmed-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_FLOWS_NEW);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_flow);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_flows_new SEC(".maps");

/*
 * Backend node (and LB node for local backends): reply tuple
 * {pod, client, pod port, client port, proto} -> frontend the reply must
 * come from, for connections the pod has confirmed (established). Written
 * only by tc egress, when it promotes an entry of lb4_dsr_revnat_new
 * (bpf/lib/revnat.h); read first by tc egress and by XDP. A separate LRU, so
 * the inserts of new tuples never evict what is here. Size: --revnat-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_DSR_REVNAT);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_dsr_frontend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_dsr_revnat SEC(".maps");

/*
 * The same, for tuples the pod has not confirmed (unconfirmed): written by
 * XDP for every client packet delivered here whose tuple is in neither
 * table (decap, local DNAT), and for UDP flows, which have no handshake to
 * confirm. Floods land here. Size: --revnat-unconfirmed-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_DSR_REVNAT_NEW);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_dsr_frontend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_dsr_revnat_new SEC(".maps");

/*
 * Every backend on this node {address, port, proto} -> its only frontend
 * (address 0: several, or the fallback is off). tc egress: a packet from a
 * local backend that finds no reverse-NAT entry is counted, and rewritten
 * from here when the frontend is set. Written by the control plane.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSRLB_MAX_LOCAL_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb4_backend_addr);
	__type(value, struct lb4_revnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_backend_frontends SEC(".maps");

/*
 * Backend node (and LB node for local backends): a fragmented reply's
 * {pod, client, IP id, proto} -> the frontend its first fragment was
 * rewritten to, for the later fragments (no ports). Written and read by
 * tc egress (bpf/lib/frag.h); an entry lives as long as LRU keeps it.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_FRAGS);
	__type(key, struct lb4_frag_key);
	__type(value, struct lb4_revnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_frag_revnat SEC(".maps");

/*
 * SNAT mode: one entry per direction of a connection (lb4_snat_entry), for
 * connections the pod confirmed (established), moved here from lb4_snat_new
 * with their lb4_flows entry (bpf/lib/flow_confirm.h); read first.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_SNAT);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_snat_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_snat SEC(".maps");

/*
 * The same, unconfirmed: where every new mapping is written (and UDP's
 * stay). Size: twice --flows-unconfirmed-max.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_SNAT_NEW);
	__type(key, struct lb4_tuple);
	__type(value, struct lb4_snat_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_snat_new SEC(".maps");

/* sessionAffinity ClientIP: {client, service} -> backend, last use. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_AFFINITY);
	__type(key, struct lb4_affinity_key);
	__type(value, struct lb4_affinity);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_affinity SEC(".maps");

/*
 * Socket hooks, UDP: {socket cookie, backend} -> the frontend the socket
 * addressed, with its last use (struct lb4_sock_revnat). Written by
 * connect4/sendmsg4, read by recvmsg4.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DSRLB_MAX_SOCK_REVNAT);
	__type(key, struct lb4_sock_revnat_key);
	__type(value, struct lb4_sock_revnat);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_sock_revnat SEC(".maps");

/*
 * Socket hooks: per socket, the frontend a connect was translated from
 * (struct lb4_sock_peer), for getpeername4 and a connected UDP socket's
 * replies. Socket storage lives and dies with its socket: nothing to expire.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct lb4_sock_peer);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_sock_peer SEC(".maps");

/* loadBalancerSourceRanges: {service, CIDR} present = allowed. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, DSRLB_MAX_SOURCE_RANGES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb4_source_range_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} lb4_source_ranges SEC(".maps");

/* Node id -> node address: the Geneve outer destination of a backend. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSRLB_MAX_NODES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct dsrlb_node);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} nodes SEC(".maps");

/*
 * Node address -> node id: the inverse of `nodes`, so a backend node can
 * check in one lookup that a Geneve packet comes from a node (only nodes may
 * create reverse-NAT state or inject decapsulated packets).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, DSRLB_MAX_NODES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __be32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_addrs SEC(".maps");

/*
 * Route to each node (egress device, MACs, route MTU), per CPU: resolving it
 * with bpf_fib_lookup costs about as much as the rest of the forwarding path,
 * so it is resolved once per DSRLB_NEXTHOP_TTL_JIFFIES. Slot = node id &
 * DSRLB_NEXTHOP_SLOT_MASK; an entry names its node, so a collision only costs
 * a lookup. Per CPU, so a refresh never races a reader on another CPU.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSRLB_NEXTHOP_SLOTS);
	__type(key, __u32);
	__type(value, struct dsrlb_nexthop);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} node_nexthop SEC(".maps");

/* The generated-reply token bucket of each CPU (struct dsrlb_reply_bucket). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsrlb_reply_bucket);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} reply_bucket SEC(".maps");

/* This node: id, address, mode, MTU, Geneve port and option class, reply budget. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsrlb_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} config SEC(".maps");

/* Per-CPU counters indexed by enum dsrlb_stat (summed by lbctl). The key is
 * declared as the enum (4 bytes, like __u32) so the enum lands in the BTF,
 * where a test holds the TypeScript constants against it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSRLB_STAT_MAX);
	__type(key, enum dsrlb_stat);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/*
 * Per-CPU bytes of forwarded packets, indexed like `stats` (enum dsrlb_stat):
 * the frame length as it left its program (bpf/lib/stats_bytes.h), added for
 * the forward counters only (datapath-counters.ts says which); every other
 * slot stays zero. Summed by lbctl and the agent's metrics.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DSRLB_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats_bytes SEC(".maps");

/*
 * Per CPU: the forward counters the packet in flight counted (a byte each:
 * enum dsrlb_stat + 1, the latest lowest), until its program's exit adds its
 * length to stats_bytes and clears it (stats_bytes.h). Zero between
 * packets; no reader.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats_pending SEC(".maps");

/*
 * lbctl monitor (bpf/lib/monitor.h, docs/datapath.md "Monitor"): the gate
 * a monitor opens for the event types it wants, under a lease it renews
 * (struct dsrlb_monitor_gate). All zero, as created: no events, and a
 * packet's only cost is this inlined array read at its program's exit.
 * Written by lbctl monitor; the datapath clears `types` when the lease is over.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsrlb_monitor_gate);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} monitor_gate SEC(".maps");

/*
 * Per CPU: the event a packet's counter asked for (count(), stats.h) until
 * its program's exit emits it, and the events lost to a full ring buffer.
 * Touched only while the gate is open; a monitor zeroes it before opening.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dsrlb_monitor_pending);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} monitor_pending SEC(".maps");

/*
 * The events (struct dsrlb_event), shared by every program that includes
 * this file; read by lbctl monitor (one reader at a time: it holds a lock
 * on the layout directory). DSRLB_MONITOR_RING_BYTES of kernel memory,
 * allocated at creation whether anyone listens or not.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, DSRLB_MONITOR_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} monitor_events SEC(".maps");

#endif /* DSRLB_MAPS_H */
