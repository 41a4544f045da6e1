/** Where the compiled BPF objects live, by program. */
import { join } from 'node:path';
import { projectRoot } from './native.js';

const objectDir = join(projectRoot, 'build', 'bpf');

export const BpfObjects = {
  /** XDP on the node's devices: frontend lookup, LB, encap, decap, SNAT. */
  xdpLb: join(objectDir, 'xdp_lb.o'),
  /** tc egress on the node's devices: reply rewrite to the frontend. */
  tcRevnat: join(objectDir, 'tc_revnat.o'),
  /** cgroup sock_addr hooks on --cgroup-root: socket-level load balancing. */
  sockLb: join(objectDir, 'sock_lb.o'),
  /** `return XDP_PASS`: peer veths in the lab, the benchmark floor. */
  xdpPass: join(objectDir, 'xdp_pass.o'),
  /** Benchmark probe: a parse and an lb4_flows-shaped LRU insert, nothing else. */
  xdpLruProbe: join(objectDir, 'xdp_lru_probe.o'),
} as const;
