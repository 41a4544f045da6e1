// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_lb - the XDP program on the node's devices (DESIGN.md §1): frontend
 * lookup and load balancing on the LB node, Geneve decapsulation on the
 * backend node, SNAT-mode replies. The logic lives in lib/.
 */
#include "maps.h"
#include "config.h"
#include "encap.h"
#include "forward.h"
#include "lb.h"
#include "parse.h"
#include "snat.h"
#include "stats.h"

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const struct dsrlb_config *cfg;
	const struct lb4_service *svc;
	struct lb4_snat_entry snat;
	struct pkt4 p = {};

	switch (parse_ipv4(data, data_end, ctx->data_end - ctx->data, &p)) {
	case PARSE_OK:
		break;
	case PARSE_NOT_IPV4:
		return count(DSRLB_STAT_PASS_NOT_IPV4, XDP_PASS);
	case PARSE_FRAGMENT:
		return count(DSRLB_STAT_PASS_FRAGMENT, XDP_PASS);
	case PARSE_OTHER_PROTO:
		return count(DSRLB_STAT_PASS_OTHER_PROTO, XDP_PASS);
	case PARSE_BAD_L4:
		return count(DSRLB_STAT_PASS_BAD_L4, XDP_PASS);
	case PARSE_TRUNCATED:
		return count(DSRLB_STAT_DROP_TRUNCATED, XDP_DROP);
	default:
		return count(DSRLB_STAT_DROP_BAD_HEADER, XDP_DROP);
	}

	cfg = config_get();
	if (!cfg)
		return XDP_PASS;
	if (geneve_for_us(&p, cfg))
		return geneve_decap(ctx, &p, cfg);
	if (snat_reply_lookup(&p, cfg, &snat))
		return snat_reply(ctx, &p, &snat);
	svc = lb_service(&p.tuple);
	if (!svc)
		return count(DSRLB_STAT_PASS_NOT_SERVICE, XDP_PASS);
	return lb_forward(ctx, &p, svc, cfg);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
