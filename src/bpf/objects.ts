/** Where the compiled BPF objects live, by program. */
import { join } from 'node:path';
import { projectRoot } from './native.js';

/** Where `make bpf` puts the objects (the agent's --bpf-object-dir default). */
export const DEFAULT_OBJECT_DIR = join(projectRoot, 'build', 'bpf');

export const BpfObjects = {
  /** XDP on the node's devices: frontend lookup, LB, encap, decap, SNAT. */
  xdpLb: join(DEFAULT_OBJECT_DIR, 'xdp_lb.o'),
  /** tc egress on the node's devices: reply rewrite to the frontend. */
  tcRevnat: join(DEFAULT_OBJECT_DIR, 'tc_revnat.o'),
  /** cgroup sock_addr hooks on --cgroup-root: socket-level load balancing. */
  sockLb: join(DEFAULT_OBJECT_DIR, 'sock_lb.o'),
  /** `return XDP_PASS`: peer veths in the lab, the benchmark floor. */
  xdpPass: join(DEFAULT_OBJECT_DIR, 'xdp_pass.o'),
  /** Benchmark probe: a parse and an lb4_flows-shaped LRU insert, nothing else. */
  xdpLruProbe: join(DEFAULT_OBJECT_DIR, 'xdp_lru_probe.o'),
} as const;

/** The objects the agent loads (devices and cgroup hooks), from a directory holding a build of them: their maps make up the layout. */
export function datapathObjects(dir: string = DEFAULT_OBJECT_DIR): { readonly xdpLb: string; readonly tcRevnat: string; readonly sockLb: string } {
  return { xdpLb: join(dir, 'xdp_lb.o'), tcRevnat: join(dir, 'tc_revnat.o'), sockLb: join(dir, 'sock_lb.o') };
}
