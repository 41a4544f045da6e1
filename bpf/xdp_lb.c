// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_lb - the XDP program on the node's devices (docs/design.md §1): frontend
 * lookup and load balancing on the LB node, Geneve decapsulation on the
 * backend node, SNAT-mode replies, ICMP errors about flows. The logic
 * lives in lib/.
 */
#include <linux/bpf.h>
/* What stats.h reports to the monitor as a drop. */
#define DSRLB_DROP_VERDICT XDP_DROP
#include "maps.h"
#include "compiler.h"
#include "config.h"
#include "decap.h"
#include "forward.h"
#include "frag.h"
#include "icmp_forward.h"
#include "lb.h"
#include "monitor.h"
#include "parse.h"
#include "snat.h"
#include "stats.h"

/* What becomes of an IPv4 packet parse_ipv4 did not accept (parse.h, docs/datapath.md); fragments: frag.h. */
static __always_inline int xdp_lb_unparsed(struct xdp_md *ctx, struct pkt4 *p, int rc)
{
	if (rc == PARSE_OTHER_PROTO && p->tuple.proto == IPPROTO_ICMP)
		return icmp_error_in(ctx, p);
	switch (rc) {
	case PARSE_FRAGMENT:
		return frag_request_verdict(p);
	case PARSE_OTHER_PROTO:
		return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
	case PARSE_BAD_L4:
		return count(DSRLB_STAT_PASS_BAD_L4, XDP_PASS);
	case PARSE_TRUNCATED:
		return count(DSRLB_STAT_DROP_TRUNCATED, XDP_DROP);
	default:
		return count(DSRLB_STAT_DROP_BAD_HEADER, XDP_DROP);
	}
}

/*
 * Every exit leaves through monitor_xdp (lib/monitor.h), but the two that
 * hand the stack what is none of the datapath's business: not IPv4, and
 * IPv4 to a port no frontend uses. They make no event, and as the commonest
 * packets they skip even the monitor's gate read.
 */
SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct dsrlb_config *cfg;
	struct lb4_snat_entry snat;
	struct pkt4 p;
	int rc;

	rc = parse_ipv4(data, data_end, ctx->data_end - ctx->data, &p);
	if (unlikely(rc != PARSE_OK)) {
		if (rc == PARSE_NOT_IPV4)
			return count(DSRLB_STAT_PASS_NOT_IPV4, XDP_PASS);
		return monitor_xdp(ctx, xdp_lb_unparsed(ctx, &p, rc));
	}

	cfg = config_get();
	if (unlikely(!cfg))
		return XDP_PASS;
	if (geneve_for_us(&p, cfg))
		return monitor_xdp(ctx, geneve_decap(ctx, &p, cfg));
	rc = snat_reply_lookup(&p, cfg, &snat);
	if (unlikely(rc != TABLE_NONE))
		return monitor_xdp(ctx, snat_reply(ctx, &p, &snat, rc));
	if (lb_port_unused(&p.tuple))
		return count(DSRLB_STAT_PASS_NOT_SERVICE, XDP_PASS);
	return monitor_xdp(ctx, lb_forward(ctx, &p, cfg));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
