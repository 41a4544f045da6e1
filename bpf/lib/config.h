/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* config.h - this node's settings, written by the agent into `config`. */
#ifndef DSRLB_CONFIG_H
#define DSRLB_CONFIG_H

#include "maps.h"

static __always_inline const struct dsrlb_config *config_get(void)
{
	__u32 zero = 0;

	/* An array entry always exists; NULL only satisfies the verifier. */
	return bpf_map_lookup_elem(&config, &zero);
}

#endif /* DSRLB_CONFIG_H */
