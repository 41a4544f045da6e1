/**
 * SNAT mode on the LB node (docs/datapath.md "Flow state on the LB node"):
 * per-packet cost of xdp_lb, BPF_PROG_RUN with repeat 1 (as bench/datapath.ts),
 * as a ratio to xdp_pass measured alongside:
 * - newFlow: a SYN of a tuple never sent before (its lb4_flows entry and
 *   two SNAT mappings written; the tables fill and then evict, as in use);
 * - established: a client segment of a connection the pod confirmed;
 * - reply: the pod's segment of that connection, turned around here.
 * One service of 10 backends on another node (SNAT ports are per backend).
 * DSRLB_BENCH_BASELINE=DIR: another build's objects (e.g. main's) measured
 * in the same run, round by round, for before/after ratios.
 */
import { cpus } from 'node:os';
import { BpfObjectFile, BpfObjects } from '../src/bpf/index.js';
import { buildFrame, decodeFrame, mssOption } from '../src/packet/index.js';
import { requireRootOrExit, withCleanup } from './lib/root-run.js';
import { Addr, type Cleanup, Datapath, Mac, NodeId, XdpAction } from '../test/helpers/datapath.js';

const ROUNDS = Number(process.env.DSRLB_BENCH_ROUNDS ?? 5);
const RUNS = Number(process.env.DSRLB_BENCH_RUNS ?? 20_000);
const BASELINE = process.env.DSRLB_BENCH_BASELINE;
const BACKENDS = 10;
const SNAT_PORT_MIN = 61000;

interface Build { name: string; dp: Datapath; cases: Record<string, () => number> }

const eth = { src: Mac.router, dst: Mac.nic };
const client = (n: number): string => `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
const toVip = (src: string, syn: boolean): Buffer => buildFrame({
  eth, ip: { src, dst: Addr.vip },
  tcp: syn ? { sport: 40000, dport: 80, flags: { syn: true }, options: mssOption(1460) }
    : { sport: 40000, dport: 80, flags: { ack: true }, payload: Buffer.alloc(64) },
});

/** The pod and SNAT port a forwarded client frame left with. */
function snatOf(out: Buffer): { pod: string; port: number } {
  const inner = decodeFrame(out).geneve?.inner;
  return { pod: inner?.ip?.dst ?? '', port: inner?.tcp?.sport ?? 0 };
}

function build(name: string, cleanup: Cleanup, pass: BpfObjectFile, objectDir?: string): Build {
  const dp = Datapath.create(cleanup, { mode: 'snat', ...(objectDir ? { objectDir } : {}) });
  const ids = Array.from({ length: BACKENDS }, (_, i) => 11 + i);
  for (const id of ids) dp.addBackend({ id, address: `198.18.3.${id}`, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: ids });
  // A connection the pod confirmed: SYN, SYN-ACK, ACK, the pod's data.
  const src = Addr.client; // routed in the test network: the reply has a next hop
  const syn = dp.runXdp(toVip(src, true));
  if (syn.retval !== XdpAction.TX) throw new Error(`${name}: the SYN was not forwarded`);
  const { pod, port } = snatOf(syn.out);
  if (port < SNAT_PORT_MIN) throw new Error(`${name}: no SNAT port in the forwarded frame`);
  const fromPod = (flags: { syn?: boolean; ack?: boolean }): Buffer => buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, ip: { src: pod, dst: Addr.lbNode },
    tcp: { sport: 8080, dport: port, flags, ...(flags.syn ? {} : { payload: Buffer.alloc(64) }) },
  });
  dp.runXdp(fromPod({ syn: true, ack: true }));
  const established = toVip(src, false);
  dp.runXdp(established);
  const reply = fromPod({ ack: true });
  for (const f of [established, reply]) { const rv = dp.runXdp(f).retval; if (rv !== XdpAction.TX) throw new Error(`${name}: not forwarded (${rv}, ${JSON.stringify(dp.nonZeroStats())}, ${pod}:${port})`); }

  const prog = dp.xdp.program('xdp_lb');
  const passProg = pass.program('xdp_pass');
  const ctxs = new Map<number, Buffer>();
  const run = (frame: Buffer): number => {
    let ctx = ctxs.get(frame.length);
    if (!ctx) { ctx = dp.xdpCtx(frame); ctxs.set(frame.length, ctx); }
    return prog.testRun({ data: frame, ctx }).duration;
  };
  const passCtx = dp.xdpCtx(established);
  let next = 1 << 16;
  return {
    name, dp,
    cases: {
      floor: () => passProg.testRun({ data: established, ctx: passCtx }).duration,
      newFlow: () => run(toVip(client(next++), true)),
      established: () => run(established),
      reply: () => run(reply),
    },
  };
}

const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? NaN;

function main(): void {
  requireRootOrExit('bench/snat-flows');
  const ratios: Record<string, Record<string, number[]>> = {};
  const ns: Record<string, Record<string, number[]>> = {};
  const drops: Record<string, string> = {};
  withCleanup((cleanup) => {
    const pass = BpfObjectFile.load(BpfObjects.xdpPass);
    cleanup.teardown(() => pass.close());
    const builds = [build('current', cleanup, pass), ...(BASELINE ? [build('baseline', cleanup, pass, BASELINE)] : [])];
    for (let round = 0; round < ROUNDS; round++) {
      for (const b of builds) {
        const mean = (f: () => number): number => {
          let sum = 0;
          for (let i = 0; i < RUNS; i++) sum += f();
          return sum / RUNS;
        };
        const floor = mean(b.cases.floor as () => number);
        for (const [k, f] of Object.entries(b.cases)) {
          const v = k === 'floor' ? floor : mean(f);
          ((ns[b.name] ??= {})[k] ??= []).push(v);
          ((ratios[b.name] ??= {})[k] ??= []).push(v / floor);
        }
      }
    }
    for (const b of builds) drops[b.name] = String(b.dp.stat('DROP_SNAT_PORTS'));
  });
  const med = (m: Record<string, Record<string, number[]>>, digits: number) => Object.fromEntries(Object.entries(m).map(([b, c]) =>
    [b, Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(median(v).toFixed(digits))]))]));
  const r = med(ratios, 2);
  const beforeAfter = BASELINE ? Object.fromEntries(Object.keys(r.current ?? {}).filter((k) => k !== 'floor')
    .map((k) => [k, Number(((r.current?.[k] ?? NaN) / (r.baseline?.[k] ?? NaN)).toFixed(3))])) : undefined;
  process.stdout.write(`${JSON.stringify({
    bench: 'snat-flows', machine: { cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length },
    rounds: ROUNDS, runs: RUNS, ns: med(ns, 1), ratioToXdpPass: r, ...(beforeAfter ? { currentOverBaseline: beforeAfter } : {}),
    newFlowsDroppedForPorts: drops,
  }, null, 2)}\n`);
}

main();
