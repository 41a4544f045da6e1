// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * sock_lb - socket-level load balancing (docs/datapath.md, "Socket LB"):
 * cgroup v2 sock_addr programs the agent attaches to --cgroup-root. The
 * logic lives in lib/sock_lb.h.
 */
#include "sock_lb.h"

SEC("cgroup/connect4")
int sock_connect4(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 1);
}

SEC("cgroup/sendmsg4")
int sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return sock_forward(ctx, 0);
}

SEC("cgroup/recvmsg4")
int sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 1);
}

SEC("cgroup/getpeername4")
int sock_getpeername4(struct bpf_sock_addr *ctx)
{
	return sock_reverse(ctx, 0);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
