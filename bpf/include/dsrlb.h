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
 *  - multi-byte fields named addr/port hold network byte order (__be*),
 *    everything else host order.
 *  - constants are `#define DSRLB_*` integers or enum members: both are
 *    exported to TypeScript by name.
 */
#ifndef DSRLB_H
#define DSRLB_H

#include <linux/types.h>

/* ---- wire format (DESIGN.md §1.2) ---------------------------------- */
#define DSRLB_GENEVE_PORT          6081
#define DSRLB_GENEVE_PROTO_ETH     0x6558  /* Geneve payload: inner Ethernet */
#define DSRLB_GENEVE_OPT_CLASS     0x014B  /* same option class as Cilium  */
#define DSRLB_GENEVE_OPT_TYPE_DSR  0x81    /* high bit: critical option    */
#define DSRLB_GENEVE_OPT_LEN_WORDS 2       /* payload length, 4-byte words  */

/* ---- sizes of things ------------------------------------------------ */
#define DSRLB_MAGLEV_DEFAULT_SIZE  16381   /* --maglev-table-size default   */
#define DSRLB_MAGLEV_MIN_SIZE      251     /* smallest per-service table    */
#define DSRLB_MAX_SERVICES         65536   /* lb4_services entries          */
#define DSRLB_MAX_BACKENDS         262144  /* lb4_backends entries          */
#define DSRLB_MAX_REVNAT           65536   /* lb4_revnat entries            */
#define DSRLB_MAX_FLOWS            262144  /* lb4_flows LRU entries         */
#define DSRLB_MAX_DSR_REVNAT       262144  /* lb4_dsr_revnat LRU entries    */
#define DSRLB_MAX_SNAT             262144  /* lb4_snat LRU entries          */
#define DSRLB_MAX_AFFINITY         65536   /* lb4_affinity LRU entries      */
#define DSRLB_MAX_SOURCE_RANGES    16384   /* lb4_source_ranges entries     */
#define DSRLB_MAX_NODES            4096    /* nodes entries                 */

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
#define DSRLB_SVC_F_NOEP_DROP      0x08  /* no endpoints: drop (Local)     */

struct lb4_service {
	__u32 service_id;        /* key of lb4_maglev, lb4_affinity, ranges */
	__u32 affinity_timeout;  /* seconds; used with DSRLB_SVC_F_AFFINITY */
	__u16 backend_count;     /* active (non-terminating) backends */
	__u16 revnat_id;         /* key of lb4_revnat */
	__u8  flags;             /* DSRLB_SVC_F_* */
	__u8  pad[3];
};

/* ---- lb4_backends ---------------------------------------------------- */
/* lb4_backend.flags */
#define DSRLB_BE_F_TERMINATING     0x01  /* serves existing flows only */

struct lb4_backend {
	__be32 address;   /* pod IP */
	__be16 port;      /* targetPort */
	__u8   proto;
	__u8   flags;     /* DSRLB_BE_F_* */
	__u32  node_id;   /* key of `nodes`; equal to config.node_id = local */
};

/* ---- lb4_revnat ------------------------------------------------------ */
struct lb4_revnat {
	__be32 address;   /* frontend address replies must come from */
	__be16 port;
	__u16  pad;
};

/* ---- nodes ----------------------------------------------------------- */
struct dsrlb_node {
	__be32 address;   /* Geneve outer destination for this node */
	__u32  pad;
};

/* ---- config (array, one entry at index 0) ---------------------------- */
struct dsrlb_config {
	__u32  node_id;        /* this node's id in `nodes` */
	__be32 node_address;   /* outer source address; SNAT address */
	__u32  mode;           /* enum dsrlb_mode */
	__u32  mtu;            /* inter-node MTU (outer IP packet size) */
	__be16 geneve_port;    /* network order, normally DSRLB_GENEVE_PORT */
	__u16  opt_class;      /* host order, normally DSRLB_GENEVE_OPT_CLASS */
	__u32  pad;
};

/* ---- stats (per-CPU array of __u64, indexed by enum dsrlb_stat) ------ */
enum dsrlb_stat {
	/* verdicts */
	DSRLB_STAT_PASS_NOT_SERVICE = 0,  /* not a frontend: handed to the stack */
	DSRLB_STAT_PASS_NOT_IPV4,
	DSRLB_STAT_PASS_FRAGMENT,
	DSRLB_STAT_SERVICE_HIT,           /* frontend matched */
	DSRLB_STAT_TX_ENCAP,              /* encapsulated to a remote backend */
	DSRLB_STAT_PASS_LOCAL,            /* DNATed to a local backend */
	DSRLB_STAT_PASS_DECAP,            /* Geneve DSR decapsulated */
	DSRLB_STAT_TX_SNAT,               /* SNAT mode forward / reply */
	DSRLB_STAT_TX_REJECT,             /* RST / ICMP unreachable sent */
	DSRLB_STAT_TX_TOO_BIG,            /* ICMP fragmentation-needed sent */
	DSRLB_STAT_REVNAT_REWRITE,        /* tc egress: reply rewritten to VIP */
	DSRLB_STAT_MSS_CLAMPED,
	DSRLB_STAT_PASS_FIB_FAILED,       /* no route/neighbour: stack decides */
	/* drops */
	DSRLB_STAT_DROP_TRUNCATED,
	DSRLB_STAT_DROP_BAD_HEADER,
	DSRLB_STAT_DROP_SOURCE_RANGE,
	DSRLB_STAT_DROP_NO_ENDPOINTS,
	DSRLB_STAT_DROP_NO_BACKEND,       /* backend id without an entry */
	DSRLB_STAT_DROP_GENEVE_UNKNOWN_NODE,
	DSRLB_STAT_DROP_GENEVE_BAD_OPTION,
	DSRLB_STAT_DROP_ENCAP_FAILED,
	DSRLB_STAT_MAX,                   /* number of counters, keep last */
};

#endif /* DSRLB_H */
