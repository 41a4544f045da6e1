/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * dsrlb.h - the one place where every BPF map key/value and every constant
 * shared between the datapath (bpf/) and the control plane (src/) is defined.
 *
 * Rules (see docs/datapath.md):
 *  - plain C, no kernel-only types, so it compiles for -target bpf and is
 *    parsed by scripts/gen-consts.ts into src/bpf/consts.generated.ts;
 *  - every struct has explicit padding and a fixed size; the TypeScript
 *    codecs in src/bpf/codecs/ mirror them and test/bpf/codecs-btf.test.ts
 *    proves sizes and offsets against the compiled object's BTF;
 *  - multi-byte fields named addr/address/port (and the saddr/daddr/sport/
 *    dport of a tuple) hold network byte order (__be*), everything else host
 *    order.
 *  - constants are `#define DSRLB_*` integer literals or enum members: both
 *    are exported to TypeScript by name.
 */
#ifndef DSRLB_H
#define DSRLB_H

#include <linux/types.h>

/* ---- wire format (docs/design.md §1.2) ---------------------------------- */
#define DSRLB_GENEVE_PORT          6081
#define DSRLB_GENEVE_PROTO_ETH     0x6558  /* Geneve payload: inner Ethernet */
#define DSRLB_GENEVE_OPT_CLASS     0x014B  /* same option class as Cilium  */
#define DSRLB_GENEVE_OPT_TYPE_DSR  0x81    /* high bit: critical option    */
/* SNAT mode's marker: same class and layout as the DSR option, another type,
 * so the backend node knows the packet is dsrlb's (and which frontend it is
 * for) but records no reverse NAT. A Geneve packet carrying neither option
 * is not dsrlb's: it goes to the stack untouched (a CNI overlay's). */
#define DSRLB_GENEVE_OPT_TYPE_SNAT 0x82
/*
 * Second chance (docs/datapath.md, "Stateless LB node"): beside the DSR
 * option, the backend the service's previous Maglev table gives for the
 * flow's slot when it differs from the current one: {be32 pod address, be16
 * port, u16 zero}, the DSR option's layout. Only what the receiving node can
 * check against its own tables (the same on every node): no node id, no
 * backend id. Not critical (no high bit): a node that does not know it
 * (an older agent during a rolling upgrade) ignores it and delivers as
 * before. Never carried by a SYN, an SNAT-marked packet or a rescued one.
 */
#define DSRLB_GENEVE_OPT_TYPE_SECOND_CHANCE 0x03
#define DSRLB_GENEVE_OPT_LEN_WORDS 2       /* payload length, 4-byte words  */
#define DSRLB_GENEVE_VERSION       0       /* the only Geneve version      */
#define DSRLB_GENEVE_VER_SHIFT     6       /* byte 0: Ver(2) | Opt Len(6)  */
#define DSRLB_GENEVE_OPTLEN_MASK   0x3F    /* Opt Len, in 4-byte words     */
#define DSRLB_GENEVE_FLAG_OAM      0x80    /* byte 1: O bit                */
#define DSRLB_GENEVE_FLAG_CRITICAL 0x40    /* byte 1: C bit (critical opts) */
#define DSRLB_GENEVE_OPT_CRITICAL  0x80    /* option type: critical bit    */
#define DSRLB_GENEVE_OPT_LEN_MASK  0x1F    /* option byte 3: R(3) | Len(5) */
#define DSRLB_GENEVE_HDR_SIZE      8       /* base header, no options      */
#define DSRLB_GENEVE_DSR_OPT_SIZE  12      /* DSR option incl. its header  */
#define DSRLB_GENEVE_MAX_OPTS      8       /* options scanned per packet   */
#define DSRLB_GENEVE_MAX_OPT_BYTES 252     /* Opt Len is 6 bits of words   */
/* Outer UDP source port = BASE | (flow hash & MASK): 49152-65535 (RFC 6335). */
#define DSRLB_GENEVE_SPORT_BASE    0xC000
#define DSRLB_GENEVE_SPORT_MASK    0x3FFF
/*
 * Bytes the encapsulation adds to the client's IPv4 packet: outer IPv4 (20)
 * + UDP (8) + Geneve (8) + inner Ethernet (14), plus the DSR or SNAT option
 * (12; every packet dsrlb encapsulates carries one). It is also the number
 * of bytes prepended to the frame (outer Ethernet replaces the inner
 * Ethernet's place on the wire).
 */
#define DSRLB_ENCAP_OVERHEAD       62
/* With the second-chance option as well (12 more): what the SYN-ACK's MSS
 * clamp leaves room for, so a full segment can still carry it. */
#define DSRLB_ENCAP_OVERHEAD_MAX   74
#define DSRLB_OUTER_TTL            64

/* ---- protocol constants not exported by the UAPI headers ------------ */
#define DSRLB_AF_INET              2
#define DSRLB_ETH_ALEN             6
#define DSRLB_IPV4_MIN_IHL         5       /* 20-byte header               */
#define DSRLB_IPV4_VERSION         4
#define DSRLB_IP_DF                0x4000  /* frag_off, host order         */
#define DSRLB_IP_MF                0x2000
#define DSRLB_IP_OFFSET_MASK       0x1FFF
#define DSRLB_IPV4_MIN_MTU         68      /* RFC 791                      */
#define DSRLB_TCP_MIN_DOFF         5       /* 20-byte header               */
#define DSRLB_TCP_OPT_EOL          0
#define DSRLB_TCP_OPT_NOP          1
#define DSRLB_TCP_OPT_MSS          2
#define DSRLB_TCP_OPT_MSS_LEN      4
#define DSRLB_TCP_OPT_HDR_LEN      2       /* kind, length                 */
#define DSRLB_TCP_MAX_OPT_BYTES    40
#define DSRLB_TCP_OPT_BUF          64      /* power of two >= 40, for masking */
#define DSRLB_TCP_OPT_BUF_MASK     63
#define DSRLB_TCP_DOFF_BYTE        12      /* Data Offset(4) | reserved(4) */
#define DSRLB_TCP_DOFF_SHIFT       4
#define DSRLB_TC_PULL_LEN          134     /* Ethernet + longest IPv4 + TCP headers */
#define DSRLB_ICMP_DEST_UNREACH    3       /* type                         */
#define DSRLB_ICMP_PORT_UNREACH    3       /* code                         */
#define DSRLB_ICMP_FRAG_NEEDED     4       /* code                         */
#define DSRLB_ICMP_QUOTE_L4_BYTES  8       /* bytes of L4 quoted (RFC 792) */
#define DSRLB_ICMP_TIME_EXCEEDED   11      /* type                         */
#define DSRLB_ICMP_PARAMETERPROB   12      /* type                         */
#define DSRLB_ICMP_HDR_LEN         8       /* type, code, checksum, 4 more */
#define DSRLB_TCP_CSUM_END         18      /* TCP bytes up to its checksum's end */
#define DSRLB_UDP_CSUM_END         8       /* UDP bytes up to its checksum's end */
/* Ethernet + longest outer IPv4 + ICMP + longest quoted IPv4 + 20 bytes of
 * quoted L4: what an ICMP error's rewrite reads in place. */
#define DSRLB_ICMP_PULL_LEN        162
#define DSRLB_TCP_MAX_MSS_OPTS     10      /* a 40-byte option list holds at most 10 */
#define DSRLB_REPLY_TTL            64      /* generated RST / ICMP         */
#define DSRLB_UDP_CSUM_MANGLED_0   0xFFFF  /* a computed 0 sent as all ones */
#define DSRLB_CSUM_MAX_WORDS       40      /* longest checksummed run: ICMP */

/* ---- generated replies (RST, ICMP unreachable / frag needed) ----------
 * Token bucket per CPU (reply_bucket): config.reply_rate replies a second,
 * bursts of config.reply_burst. Defaults of --generated-replies-rate/-burst:
 * the kernel's own ICMP budget (net.ipv4.icmp_msgs_per_sec/_burst), per CPU. */
#define DSRLB_REPLY_RATE_DEFAULT   1000
#define DSRLB_REPLY_BURST_DEFAULT  50
#define DSRLB_REPLY_RATE_MAX       1000000
#define DSRLB_REPLY_BURST_MAX      1000000

/* ---- sizes of things ------------------------------------------------ */
/*
 * Maglev table sizes are DSRLB_MAGLEV_BASE_SIZE x 2^k (a prime times a power
 * of two): flow_hash % 2M % M == flow_hash % M, so a table that doubles starts
 * as two copies of the smaller one and no flow moves (src/reconcile/maglev.ts).
 * --maglev-table-size caps them at the largest such size not above it.
 */
#define DSRLB_MAGLEV_DEFAULT_SIZE  16381   /* --maglev-table-size default (cap 16336) */
#define DSRLB_MAGLEV_BASE_SIZE     1021    /* smallest per-service table    */
#define DSRLB_MAGLEV_TEMPLATE_ENTRIES 251  /* lb4_maglev_inner's own size: only the template's (part of the pinned layout) */
/*
 * lb4_maglev inner arrays hold 16 slots per element (one 64-byte cache
 * line): the kernel rounds array elements up to 8 bytes, so one __u32 per
 * element would double the memory, and writing a table costs per element, so
 * fewer, larger elements make creating 10,000 tables several times cheaper.
 * Slot s is backend_id[s % 16] of element s / 16; a table of M slots has
 * ceil(M / 16) elements.
 */
#define DSRLB_MAGLEV_SLOTS_PER_ENTRY 16
/*
 * A slot of a service's current table: the backend id, and
 * DSRLB_MAGLEV_F_MOVED when some flow of the slot finds another backend in
 * the service's previous table (src/reconcile/moved-slots.ts). Only a marked
 * slot's packets look the previous table up for a second chance. Previous
 * tables keep the marks they had as current ones: read through the mask.
 */
#define DSRLB_MAGLEV_F_MOVED   0x80000000
#define DSRLB_MAGLEV_ID_MASK   0x7fffffff
/*
 * Default map sizes (the agent may raise them before load). The LRU tables
 * are preallocated: together about 14.4 MiB, independent of the number of
 * services, and so are the arrays (lb4_backends 2 MiB; lb4_frontends,
 * lb4_revnat, the Maglev arrays of maps and lb4_maglev_prev_size 0.5 MiB
 * each); the hash maps' bucket arrays cost 16 bytes per entry of
 * max_entries; per service the cost is its Maglev table (4 bytes a slot)
 * and about 80 bytes an entry. 10,000 services x 10 backends come to
 * 63.8 MiB in all (bench/datapath.ts, docs/benchmarks.md).
 */
#define DSRLB_MAX_SERVICES         65536   /* lb4_services entries          */
#define DSRLB_MAX_BACKENDS         131072  /* lb4_backends slots (ids 1..max-1) */
#define DSRLB_MAX_REVNAT           65536   /* lb4_revnat entries            */
#define DSRLB_MAX_FLOWS            16384   /* lb4_flows LRU entries: established (--flows-max) */
#define DSRLB_MAX_FLOWS_NEW        4096    /* lb4_flows_new LRU entries: unconfirmed (--flows-unconfirmed-max) */
#define DSRLB_MAX_DSR_REVNAT       32768   /* lb4_dsr_revnat LRU entries: established (--revnat-max) */
#define DSRLB_MAX_DSR_REVNAT_NEW   16384   /* lb4_dsr_revnat_new LRU entries: unconfirmed (--revnat-unconfirmed-max) */
/* Smallest and largest size the agent accepts for a flow table (flags above). */
#define DSRLB_MIN_FLOW_TABLE       1024
#define DSRLB_MAX_FLOW_TABLE       16777216
#define DSRLB_MAX_SNAT             16384   /* lb4_snat LRU entries (2 per flow): established */
#define DSRLB_MAX_SNAT_NEW         8192    /* lb4_snat_new LRU entries: unconfirmed, 2 per lb4_flows_new entry */
#define DSRLB_MAX_FRAGS            8192    /* lb4_frag_revnat LRU entries (fragmented replies in flight) */
#define DSRLB_MAX_AFFINITY         16384   /* lb4_affinity LRU entries      */
#define DSRLB_MAX_SOURCE_RANGES    16384   /* lb4_source_ranges entries     */
#define DSRLB_MAX_NODES            4096    /* nodes / node_addrs entries    */
/* Local backends ({pod address:port, service id}) of one node: kubelet's
 * max-pods is 110 by default, a few hundred at most, each backing a few
 * service ports. Also lb4_backend_frontends' size. */
#define DSRLB_MAX_LOCAL_BACKENDS   16384   /* lb4_local_backends entries    */
#define DSRLB_NEXTHOP_SLOTS        1024    /* node_nexthop entries per CPU  */
#define DSRLB_NEXTHOP_SLOT_MASK    1023    /* slot = node id & mask         */
/* A cached route to a node is looked up again after this many jiffies
 * (0.25 s at HZ=1000, 2.5 s at HZ=100). */
#define DSRLB_NEXTHOP_TTL_JIFFIES  250

/* ---- ids ---------------------------------------------------------------- */
#define DSRLB_BACKEND_ID_NONE      0       /* backend ids start at 1        */

/* ---- hashing (flow hash: Maglev slot, Geneve source port, SNAT port) -- */
#define DSRLB_HASH_INIT            0xdeadbeef  /* lookup3's initial value   */

/* ---- SNAT (config.snat_port_min/max defaults) ---------------------------
 * Above Linux's default ip_local_port_range (32768-60999), so SNAT ports
 * never collide with the node's own connections. */
#define DSRLB_SNAT_PORT_MIN        61000
#define DSRLB_SNAT_PORT_MAX        65535
#define DSRLB_SNAT_PORT_TRIES      8       /* ports tried per new flow      */

/* ---- time ---------------------------------------------------------------- */
#define DSRLB_NSEC_PER_SEC         1000000000

/* ---- datapath modes (config.mode, --mode) --------------------------- */
enum dsrlb_mode {
	DSRLB_MODE_DSR    = 0,
	DSRLB_MODE_SNAT   = 1,
	DSRLB_MODE_HYBRID = 2, /* DSR for TCP, SNAT for UDP */
};

/* ---- lb4_services --------------------------------------------------- */
/* Frontend: what the client addressed. */
struct lb4_key {
	__be32 address;   /* VIP, NodeIP, externalIP or LB ingress IP */
	__be16 port;      /* frontend port */
	__u8   proto;     /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP */
	__u8   pad;
};

/* lb4_service.flags */
#define DSRLB_SVC_F_AFFINITY       0x01  /* sessionAffinity: ClientIP      */
#define DSRLB_SVC_F_SOURCE_RANGES  0x02  /* loadBalancerSourceRanges set   */
#define DSRLB_SVC_F_NOEP_REJECT    0x04  /* no endpoints: RST / ICMP unreach */
#define DSRLB_SVC_F_NOEP_DROP      0x08  /* no endpoints: drop (Local); also
                                          * what happens without either flag */
#define DSRLB_SVC_F_SOCKET_ONLY    0x10  /* for the socket hooks alone: XDP
                                          * treats the address as no frontend
                                          * (the {0.0.0.0, nodePort} entries) */

/* lb4_service.kind: the Service field the frontend comes from. */
enum dsrlb_frontend_kind {
	DSRLB_KIND_UNKNOWN       = 0,
	DSRLB_KIND_CLUSTER_IP    = 1,
	DSRLB_KIND_NODE_PORT     = 2,
	DSRLB_KIND_LOAD_BALANCER = 3,
	DSRLB_KIND_EXTERNAL_IP   = 4,
};

struct lb4_service {
	__u32 service_id;        /* key of lb4_maglev, lb4_affinity, ranges */
	__u32 affinity_timeout;  /* seconds; used with DSRLB_SVC_F_AFFINITY */
	__u16 backend_count;     /* active (non-terminating) backends; 0 = no endpoints */
	__u16 revnat_id;         /* key of lb4_revnat */
	__u8  flags;             /* DSRLB_SVC_F_* */
	__u8  kind;              /* enum dsrlb_frontend_kind */
	/* Socket hooks: revnat id of the ClusterIP frontend of the same service
	 * port, when in-cluster clients must see other backends than this
	 * frontend's (externalTrafficPolicy differs from internalTrafficPolicy);
	 * 0 = this entry's own backends. */
	__u16 internal_revnat;
	__u32 maglev_size;       /* M: slots in this service's lb4_maglev table */
};

/* ---- lb4_frontends: revnat id -> what an established flow re-checks ----
 * Each lb4_services entry mirrored in an array slot indexed by its revnat
 * id, so a packet of an established flow checks that its frontend still
 * stands (same service, source ranges) with an inlined array read instead of
 * the lb4_services hash lookup. A slot is live while service_id != 0; a
 * freed slot keeps its generation, and every new frontend in a slot gets a
 * newer one, which lb4_flow records: a flow whose frontend went, or whose
 * slot now holds another frontend, takes the full path again. */
struct lb4_frontend {
	__u16 service_id;   /* lb4_service.service_id (below DSRLB_MAX_SERVICES); 0 = slot free */
	__u8  flags;        /* lb4_service.flags */
	__u8  pad;
	__u32 generation;   /* of the frontend in this slot; 0 = never used */
};


/* ---- lb4_port_filter: destination ports no frontend uses ---------------
 * A bitmap per protocol, in __u64 words: the bit for a host-order port of
 * protocol P is bit (port & DSRLB_PORT_FILTER_BIT_MASK) of word
 * DSRLB_PORT_FILTER_<P> + (port >> DSRLB_PORT_FILTER_WORD_SHIFT).
 * A set bit means no frontend of that protocol has that port, so a packet to
 * it passes without the lb4_services lookup. All zero (as created) filters
 * nothing. The control plane clears a port's bit before it adds the first
 * frontend on that port and may set it after removing the last one. */
#define DSRLB_PORT_FILTER_TCP        0     /* first word of the TCP bitmap */
#define DSRLB_PORT_FILTER_UDP        1024  /* first word of the UDP bitmap */
#define DSRLB_PORT_FILTER_WORDS      2048  /* lb4_port_filter entries      */
#define DSRLB_PORT_FILTER_WORD_SHIFT 6     /* 64 ports per word            */
#define DSRLB_PORT_FILTER_BIT_MASK   63

/* ---- lb4_backends ---------------------------------------------------- */
/*
 * lb4_backends is an array indexed by backend id. A slot holds a backend
 * while DSRLB_BE_F_LIVE is set; a freed slot is zero but for its generation.
 * Each new backend a slot takes gets a generation the slot never had, and
 * flow and affinity entries record it: an entry naming a freed or reused id
 * is stale, not a path to somebody else's pod.
 */
/* lb4_backend.flags */
#define DSRLB_BE_F_TERMINATING     0x01  /* serves existing flows only */
#define DSRLB_BE_F_LIVE            0x02  /* the slot holds a backend   */

struct lb4_backend {
	__be32 address;   /* pod IP */
	__be16 port;      /* targetPort */
	__u8   proto;
	__u8   flags;     /* DSRLB_BE_F_* */
	__u32  node_id;   /* key of `nodes`; equal to config.node_id = local */
	__u32  generation; /* of the backend in this slot; 0 = never used */
};

/* ---- lb4_local_backends: what this node may deliver decapsulated -----
 * {backend address, port, proto, service id} -> the backend's id, for every
 * backend on this node (lb4_backend.node_id == config.node_id) in the backend
 * set of service `service_id`, live or terminating: a decapsulated packet
 * whose option names frontend F goes to the stack only if its inner
 * destination is here with F's service id. service_id 0 (DSRLB_LOCAL_ANY) is
 * "a local backend of some service": tc egress rewrites only replies whose
 * source is one. Written by the control plane. */
#define DSRLB_LOCAL_ANY            0

struct lb4_local_backend_key {
	__be32 address;   /* pod IP */
	__be16 port;      /* targetPort */
	__u8   proto;
	__u8   pad;
	__u32  service_id; /* lb4_service.service_id, or DSRLB_LOCAL_ANY */
};

/* ---- lb4_revnat ------------------------------------------------------- */
struct lb4_revnat {
	__be32 address;   /* frontend address replies must come from */
	__be16 port;
	__u16  pad;
};

/* ---- lb4_dsr_revnat / lb4_dsr_revnat_new value: the frontend a reply must
 * come from. A client packet delivered here writes lb4_dsr_revnat_new
 * ("unconfirmed"); the pod's first TCP reply that is neither SYN nor RST nor
 * FIN moves it to lb4_dsr_revnat ("established"): only connections whose
 * handshake the pod completed take room there, so a flood of unanswered or
 * one-way tuples cannot evict them (docs/datapath.md "Reverse-NAT state"). */
/* lb4_dsr_frontend.flags */
#define DSRLB_REVNAT_F_CLOSING     0x01  /* the pod sent FIN: never promoted again */

struct lb4_dsr_frontend {
	__be32 address;
	__be16 port;
	__u16  epoch;     /* config.local_epoch when a Geneve packet of the flow was
	                   * verified (a frontend here, a local backend of it);
	                   * 0: never (local DNAT, or written by hand) */
	__u8   flags;     /* DSRLB_REVNAT_F_* */
	__u8   pad[3];
};

/* ---- lb4_backend_frontends: local backend -> its one frontend ----------
 * Every backend on this node, {address, port, proto} -> the frontend it
 * serves when it serves exactly one (and --revnat-fallback=unique-frontend),
 * else address 0. tc egress reads it when a reply finds no reverse-NAT
 * entry: the miss is counted, and rewritten from here when the frontend is
 * unique. Written by the control plane. */
struct lb4_backend_addr {
	__be32 address;   /* pod IP */
	__be16 port;      /* targetPort */
	__u8   proto;
	__u8   pad;
};

/* ---- connection tuples: lb4_flows, lb4_dsr_revnat, lb4_snat keys ----- */
/* lb4_tuple.flags */
#define DSRLB_TUPLE_F_REPLY        0x01  /* lb4_snat: reply-direction key */

struct lb4_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8   proto;
	__u8   flags;     /* DSRLB_TUPLE_F_* */
	__u8   pad[2];
};

/* ---- lb4_frag_revnat: a fragmented reply's later fragments ------------
 * Backend node (and LB node for local backends): the first fragment of a
 * reply carries the ports, so it is looked up in lb4_dsr_revnat and
 * rewritten; it records the frontend under the datagram's identity (RFC 791:
 * source, destination, protocol, identification), and the later fragments,
 * which carry no ports, get the same source from here (bpf/lib/frag.h). */
struct lb4_frag_key {
	__be32 saddr;     /* the pod */
	__be32 daddr;     /* the client */
	__be16 id;        /* IPv4 identification */
	__u8   proto;
	__u8   pad;
};

/* ---- lb4_flows (LB node: client tuple -> backend) --------------------- */
/* lb4_flow.state: what the client's packets said of a TCP connection (the LB
 * node sees one direction only). A SYN starts over; otherwise the state only
 * advances, so a connection costs at most a few writes, none per packet. */
enum dsrlb_flow_state {
	DSRLB_FLOW_UNTRACKED   = 0, /* not TCP (UDP, SCTP) */
	DSRLB_FLOW_SYN         = 1, /* only a SYN seen */
	DSRLB_FLOW_ESTABLISHED = 2, /* a packet after the SYN (or picked up mid-connection) */
	DSRLB_FLOW_FIN         = 3, /* the client sent a FIN */
	DSRLB_FLOW_RST         = 4, /* the client sent a RST */
};

/* lb4_flow.flags */
#define DSRLB_FLOW_F_CLOSING       0x01  /* the pod sent FIN (SNAT mode): never promoted again */

struct lb4_flow {
#ifdef DSRLB_LAYOUT_TEST
	/* Only in the upgrade tests' other build: every member moves, so its flows must be translated by name. */
	__u32 layout_test[2];
#endif
	__u32 backend_id;
	__u32 service_id; /* a flow of a deleted-and-recreated service is stale */
	__u32 backend_generation;  /* lb4_backend.generation when recorded */
	__u32 frontend_generation; /* lb4_frontend.generation of revnat_id when recorded */
	__u16 revnat_id;           /* the frontend's slot in lb4_frontends */
	__u8  state;               /* enum dsrlb_flow_state */
	__u8  flags;               /* DSRLB_FLOW_F_* */
	__u32 created_s;           /* bpf_ktime_get_ns() / DSRLB_NSEC_PER_SEC when the flow was
	                            * recorded (CLOCK_MONOTONIC seconds): its age; 0 = unknown */
};

/* ---- lb4_snat: the tuple a packet is rewritten to ---------------------
 * Forward key (client -> frontend, flags 0): rewrite to node:port -> pod.
 * Reply key (pod -> node:port, DSRLB_TUPLE_F_REPLY): rewrite to
 * frontend -> client. */
struct lb4_snat_entry {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

/* ---- lb4_affinity ----------------------------------------------------- */
/* XDP keys a client by its address (netns_cookie 0); the socket hooks, which
 * see no client address before the route is chosen, by its network
 * namespace (client 0), as one pod is one network namespace. */
struct lb4_affinity_key {
	__be32 client;
	__u32  service_id;
	__u64  netns_cookie; /* bpf_get_netns_cookie(); 0 for XDP */
};

struct lb4_affinity {
	__u64 last_used_ns;  /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 backend_id;
	__u32 backend_generation; /* lb4_backend.generation when recorded */
};

/* ---- lb4_source_ranges (LPM trie; value: __u32, always 1) ------------
 * prefixlen covers service_id too: DSRLB_SOURCE_RANGE_PREFIX_BASE + the
 * CIDR's prefix length. */
#define DSRLB_SOURCE_RANGE_PREFIX_BASE 32
#define DSRLB_SOURCE_RANGE_FULL_PREFIX 64  /* lookups: service + full address */

struct lb4_source_range_key {
	__u32  prefixlen;
	__u32  service_id;  /* host order; matched as 32 exact bits */
	__be32 address;     /* CIDR base address */
};

/* ---- socket hooks (bpf/sock_lb.c, docs/datapath.md) --------------------- */
/* lb4_sock_revnat: {socket, backend} a UDP socket sent to -> the frontend it
 * addressed, so recvmsg shows replies from the frontend. Keyed by socket
 * cookie, not only the netns cookie: two sockets of one pod may reach one
 * backend through two frontends. */
struct lb4_sock_revnat_key {
	__u64  cookie;    /* bpf_get_socket_cookie() */
	__be32 address;   /* backend */
	__be16 port;
	__u16  pad;
};

struct lb4_sock_revnat {
	__u64  last_used_ns; /* bpf_ktime_get_ns(); older than the timeout = gone */
	__be32 address;      /* frontend */
	__be16 port;
	__u16  pad;
};

/* A UDP frontend's reverse entry is good this long after its socket last
 * sent to or heard from the backend (kube-proxy's conntrack UDP stream
 * timeout is 120 s). */
#define DSRLB_SOCK_REVNAT_TIMEOUT_SEC 120
#define DSRLB_MAX_SOCK_REVNAT      32768   /* lb4_sock_revnat LRU entries   */
/* Maglev slots tried after the first when it holds a terminating or freed
 * backend (a table rebuilt without it is on its way). */
#define DSRLB_SOCK_PICK_TRIES      16

/* lb4_sock_peer (socket storage): what a connect translated, for
 * getpeername and the replies of a connected UDP socket. */
struct lb4_sock_peer {
	__be32 frontend_address;
	__be32 backend_address;
	__be16 frontend_port;
	__be16 backend_port;
	__u32  pad;
};

/* ---- nodes; node_addrs maps dsrlb_node.address back to the node id --- */
struct dsrlb_node {
	__be32 address;   /* Geneve outer destination for this node */
	__u32  pad;
};

/* ---- node_nexthop: per-CPU cache of the route to a node ---------------
 * Written and read by the datapath only (no codec). dmac and smac are
 * adjacent and 8-byte aligned: the first 12 bytes of the outer Ethernet
 * header, copied in two stores. */
struct dsrlb_nexthop {
	__u32  node_id;        /* whose route this is; 0: empty */
	__be32 node_address;   /* copied from `nodes` when resolved */
	__u64  expires;        /* jiffies */
	__u8   dmac[6];        /* next hop's MAC */
	__u8   smac[6];        /* egress device's MAC */
	__u32  ifindex;        /* egress device */
	__u16  mtu;            /* route MTU, at most config.mtu; 0 = no check */
	__u16  pad;
	__u32  pad2;
};

/* ---- config (array, one entry at index 0) ---------------------------- */
struct dsrlb_config {
	__u32  node_id;        /* this node's id in `nodes` */
	__be32 node_address;   /* outer source address; SNAT address */
	__u32  mode;           /* enum dsrlb_mode */
	__u32  mtu;            /* inter-node MTU (outer IP packet size); 0 = no check */
	__be16 geneve_port;    /* network order, normally DSRLB_GENEVE_PORT */
	__u16  opt_class;      /* host order, normally DSRLB_GENEVE_OPT_CLASS */
	__u16  snat_port_min;  /* host order, normally DSRLB_SNAT_PORT_MIN */
	__u16  snat_port_max;  /* host order, normally DSRLB_SNAT_PORT_MAX */
	__u32  reply_rate;     /* generated replies a second, per CPU; 0 = none */
	__u32  reply_burst;    /* token bucket depth, per CPU */
	__u16  local_epoch;    /* bumped by the control plane whenever a frontend or
	                        * a local backend goes: a flow verified at another
	                        * epoch is verified again; 0 = verify every packet */
	__u16  pad;
	__u32  pad2;
	/* --socket-lb-host-namespace-only: the socket hooks translate only for
	 * sockets of this network namespace (the agent's); 0 = every one. */
	__u64  sock_netns_cookie;
};

/* ---- reply_bucket (per-CPU array, one entry): the generated-reply budget.
 * Written and read by the datapath only (no codec). `credit_ns` is time
 * banked at 1e9 / reply_rate ns a reply, capped at reply_burst replies. */
struct dsrlb_reply_bucket {
	__u64 last_ns;     /* bpf_ktime_get_ns() of the last refill */
	__u64 credit_ns;
};

/* ---- stats (per-CPU array of __u64, indexed by enum dsrlb_stat) ------ */
enum dsrlb_stat {
	/* verdicts */
	DSRLB_STAT_PASS_NOT_SERVICE = 0,  /* not a frontend: handed to the stack */
	DSRLB_STAT_PASS_NOT_IPV4,
	DSRLB_STAT_PASS_FRAGMENT,         /* any IPv4 fragment: the stack's */
	DSRLB_STAT_PASS_OTHER_PROTO,      /* IPv4, neither TCP nor UDP */
	DSRLB_STAT_PASS_BAD_L4,           /* TCP/UDP header cut short or invalid */
	DSRLB_STAT_SERVICE_HIT,           /* frontend matched */
	DSRLB_STAT_TX_ENCAP,              /* encapsulated to a remote backend */
	DSRLB_STAT_PASS_LOCAL,            /* DNATed to a local backend */
	DSRLB_STAT_PASS_DECAP,            /* Geneve decapsulated */
	DSRLB_STAT_PASS_GENEVE_FOREIGN,   /* Geneve without dsrlb's option: untouched */
	DSRLB_STAT_TX_SNAT,               /* SNAT mode forward (encapsulated) */
	DSRLB_STAT_TX_SNAT_REPLY,         /* SNAT mode reply sent to the client */
	DSRLB_STAT_TX_REJECT,             /* RST / ICMP unreachable sent */
	DSRLB_STAT_TX_TOO_BIG,            /* ICMP fragmentation-needed sent */
	DSRLB_STAT_REVNAT_REWRITE,        /* tc egress: reply rewritten to VIP */
	DSRLB_STAT_PASS_REVNAT_NOT_LOCAL, /* tc egress: an entry, but the source is
	                                   * no local backend: left as it is */
	DSRLB_STAT_MSS_CLAMPED,
	DSRLB_STAT_PASS_FIB_FAILED,       /* no route/neighbour: stack decides */
	/* drops */
	DSRLB_STAT_DROP_TRUNCATED,        /* IPv4 header or total length cut short */
	DSRLB_STAT_DROP_BAD_HEADER,       /* IPv4 version / IHL / length invalid */
	DSRLB_STAT_DROP_SOURCE_RANGE,
	DSRLB_STAT_DROP_NO_ENDPOINTS,
	DSRLB_STAT_DROP_NO_BACKEND,       /* backend id without an entry */
	DSRLB_STAT_DROP_TERMINATING,      /* Maglev chose a terminating backend */
	DSRLB_STAT_DROP_NO_NODE,          /* backend's node id without an entry */
	DSRLB_STAT_DROP_TOO_BIG,          /* too big once encapsulated, DF clear */
	DSRLB_STAT_DROP_SNAT_PORTS,       /* no free SNAT port */
	DSRLB_STAT_DROP_GENEVE_UNKNOWN_NODE,
	DSRLB_STAT_DROP_GENEVE_BAD_OPTION,
	DSRLB_STAT_DROP_GENEVE_BAD_INNER, /* inner frame not Ethernet/IPv4/TCP|UDP */
	DSRLB_STAT_DROP_GENEVE_NOT_FRONTEND,     /* option names no frontend here */
	DSRLB_STAT_DROP_GENEVE_NOT_LOCAL_BACKEND, /* inner destination: no local
	                                           * backend of that frontend */
	DSRLB_STAT_DROP_REPLY_LIMITED,    /* RST / ICMP suppressed: over the rate */
	DSRLB_STAT_DROP_ENCAP_FAILED,     /* resizing or rewriting the packet failed */
	/* ICMP errors and fragments of flows (docs/datapath.md, bpf/lib/icmp_error.h, frag.h) */
	DSRLB_STAT_ICMP_TO_CLIENT,        /* a pod's ICMP error about a flow, sent as from the frontend */
	DSRLB_STAT_ICMP_TO_BACKEND,       /* an ICMP error about a flow's reply, translated for its pod */
	DSRLB_STAT_DROP_ICMP_NO_BACKEND,  /* an ICMP error about a frontend's flow no backend can take */
	DSRLB_STAT_FRAG_REVNAT,           /* tc egress: a fragment of a reply rewritten to the frontend */
	DSRLB_STAT_DROP_FRAG_SHORT,       /* tc egress: a reply's first fragment cut before its L4 checksum */
	DSRLB_STAT_PASS_FRAGMENT_FRONTEND, /* a first fragment to a frontend: the stack's, not balanced
	                                    * (its later fragments count PASS_FRAGMENT) */
	/* socket hooks (per system call, not per packet) */
	DSRLB_STAT_SOCK_NOT_SERVICE,      /* connect/sendmsg to no frontend */
	DSRLB_STAT_SOCK_OTHER_NETNS,      /* host-namespace-only: not translated */
	DSRLB_STAT_SOCK_XLATE,            /* connect/sendmsg sent to a backend */
	DSRLB_STAT_SOCK_REJECT,           /* no backend: ECONNREFUSED */
	DSRLB_STAT_SOCK_REVNAT,           /* recvmsg/getpeername shown the frontend */
	DSRLB_STAT_SOCK_REVNAT_NONE,      /* recvmsg/getpeername of no translated peer */
	/* stateless LB node and rescue (bpf/lib/second_chance.h, rescue.h, docs/datapath.md) */
	DSRLB_STAT_SECOND_CHANCE,         /* LB node: sent with a second-chance option */
	DSRLB_STAT_SECOND_CHANCE_TOO_BIG, /* LB node: sent without it, the packet would not fit with it */
	DSRLB_STAT_TX_RESCUE,             /* a flow unknown here re-encapsulated to its second chance's node */
	DSRLB_STAT_RESCUE_LOCAL,          /* ... whose second chance is a backend on this node: DNATed to it */
	DSRLB_STAT_RESCUE_KNOWN,          /* second chance carried, the flow known here: delivered */
	DSRLB_STAT_RESCUE_SYN,            /* second chance on a SYN (never sent so): ignored, delivered */
	DSRLB_STAT_RESCUE_MISMATCH,       /* second chance this node's tables do not give for the flow:
	                                   * ignored, delivered as without it */
	DSRLB_STAT_RESCUE_NO_ROUTE,       /* no route to the second chance's node: delivered here */
	/* reverse-NAT state (tc egress, bpf/lib/revnat.h) */
	DSRLB_STAT_REVNAT_PROMOTED,       /* the pod confirmed a connection: entry made established */
	DSRLB_STAT_REVNAT_CLOSED,         /* the pod sent FIN (entry back to unconfirmed) or RST (deleted) */
	DSRLB_STAT_REVNAT_MISS_REWRITTEN, /* a local backend's reply without an entry, rewritten
	                                   * from its unique frontend (lb4_backend_frontends) */
	DSRLB_STAT_REVNAT_MISS_UNKNOWN,   /* a local backend's packet without an entry, left as it is:
	                                   * several frontends (or fallback off), or no DSR flow at all */
	/* the LB node's flow state (lb4_flows, lb4_snat; bpf/lib/flow_confirm.h) */
	DSRLB_STAT_FLOW_PROMOTED,         /* SNAT mode, the pod confirmed a connection: its entries made established */
	DSRLB_STAT_FLOW_CLOSED,           /* SNAT mode, the pod sent FIN (entries back to unconfirmed) or RST (deleted) */
	DSRLB_STAT_MAX,                   /* number of counters, keep last */
};

/* ---- monitor: datapath events for `lbctl monitor` (bpf/lib/monitor.h) ---
 * monitor_events is a ring buffer of struct dsrlb_event, written only while
 * monitor_gate (array, one entry) asks for that event type and its lease
 * has not expired: a monitor renews the lease, so one killed with SIGKILL
 * turns the events off by itself. Bytes, a power of two and a multiple of
 * the page size (the kernel's condition for a ring buffer): 256 KiB, about
 * 4,000 events. */
#define DSRLB_MONITOR_RING_BYTES   262144
/* dsrlb_monitor_gate.types and dsrlb_event.type: DROP, a packet dropped (why,
 * and its tuple); TRACE, a packet rewritten (encap, decap, DNAT, reply
 * rewrite, SNAT, generated replies). */
#define DSRLB_MONITOR_DROP         0x01
#define DSRLB_MONITOR_TRACE        0x02
/* A monitor renews its lease every this many ms, for this many (docs/datapath.md). */
#define DSRLB_MONITOR_LEASE_MS     5000
#define DSRLB_MONITOR_RENEW_MS     1000

/* dsrlb_event.hook: the program that saw the packet (or the socket call) */
enum dsrlb_hook {
	DSRLB_HOOK_XDP          = 1,  /* xdp_lb: ingress of ifindex */
	DSRLB_HOOK_TC_EGRESS    = 2,  /* tc_revnat: egress of ifindex */
	/* The socket LB (sock_lb): no packet, no device (ifindex and len 0); the
	 * tuple is the address the call now goes to (a backend, or the frontend
	 * it was refused for), the frontend its address as the program saw it,
	 * the verdict the hook's return (1 go on, 0 refused). */
	DSRLB_HOOK_SOCK_CONNECT = 3,  /* connect() */
	DSRLB_HOOK_SOCK_SENDMSG = 4,  /* sendmsg() of an unconnected UDP socket */
};

struct dsrlb_monitor_gate {
	__u64 expires_ns;  /* bpf_ktime_get_ns() (CLOCK_MONOTONIC) the lease ends */
	__u32 types;       /* DSRLB_MONITOR_*; 0 = off: nothing emitted */
	__u32 owner_pid;   /* the monitor holding the gate (for messages) */
};

struct dsrlb_event {
	__u64  ts_ns;        /* bpf_ktime_get_ns() */
	__u32  ifindex;      /* device: ingress (XDP), egress (tc) */
	__u32  len;          /* frame length as dropped or sent */
	__u16  reason;       /* enum dsrlb_stat: the counter the packet went to */
	__u8   type;         /* DSRLB_MONITOR_DROP or DSRLB_MONITOR_TRACE */
	__u8   hook;         /* enum dsrlb_hook */
	__u16  cpu;
	__s16  verdict;      /* the program's return value (XDP_*, TC_ACT_*) */
	struct lb4_tuple tuple;   /* the packet's (the inner one of a Geneve frame) */
	__be32 outer_saddr;  /* Geneve frame: outer addresses; else 0 */
	__be32 outer_daddr;
	__be32 frontend_address; /* Geneve frame with dsrlb's option: the frontend; else 0 */
	__be16 frontend_port;
	__u8   opt_type;     /* DSRLB_GENEVE_OPT_TYPE_DSR / _SNAT, or 0 */
	__u8   pad;
};

/* monitor_pending (per-CPU): the event a packet's counter noted (its type
 * and reason; event.type 0 = none) until the program's exit fills in the
 * rest and emits it; and the events the ring buffer had no room for. */
struct dsrlb_monitor_pending {
	struct dsrlb_event event;
	__u64 lost;        /* events dropped: ring buffer full */
};

#endif /* DSRLB_H */
