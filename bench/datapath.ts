/**
 * Datapath cost per packet, measured with BPF_PROG_RUN on the real programs
 * (issue 3, Benchmark): each figure is the mean kernel-reported duration of
 * many repeat=1 runs (repeat>1 would re-feed the rewritten packet), the
 * median of 5 rounds, beside `return XDP_PASS` measured the same way right
 * before every case; a ratio is the median over rounds of case / that floor.
 * Every case runs with 1 service and with 10,000 services x 10 backends
 * loaded, the two alternating case by case; the map memory of the latter is
 * reported too.
 *
 * What each case measures (docs/benchmarks.md says the same):
 * - nonService: TCP to this node's address, port 22, with lb4_port_filter
 *   written as the control plane must (port 22 has no frontend).
 * - nonServiceFrontendPort: TCP to an address that is no frontend, on a port
 *   a frontend uses: the filter cannot help, the lb4_services lookup misses.
 * DSR mode: the LB node keeps no per-flow state for these flows (the
 * stateless path, docs/datapath.md). Service 0 has a previous Maglev table
 * (as after a change: backend 1's slots belonged to backend 2 before), so
 * every non-SYN packet looks it up.
 * - newFlow: a SYN of a tuple never seen.
 * - synBurstBusy: the first 2,000 SYNs of new tuples right after lb4_flows
 *   was filled with as many flows as it holds (SNAT-mode flows written by
 *   hand) and lb4_dsr_revnat too: the state a busy node holds, which the
 *   stateless path must not pay for.
 * - lruInsertOnly: the newFlow frames through xdp_lru_probe.o, which only
 *   parses them and inserts their tuple into its own LRU hash shaped like
 *   lb4_flows (full before each round): what a per-flow insert would cost
 *   by itself (the old design's new-flow cost).
 * - establishedFlow: a data segment of one flow whose slot did not move,
 *   repeated (warm caches).
 * - establishedSecondChance: the same for a flow whose slot moved: it
 *   leaves with the second-chance option.
 * - establishedManyFlows: data segments of 10,000 flows in turn.
 * - backendDecap: Geneve with the DSR option arriving at a backend node
 *   (checked: from a node, for a frontend here, to a local backend of it).
 * - rescueForward: Geneve with the DSR and second-chance options for a flow
 *   the backend node does not know: checked against its tables and
 *   re-encapsulated to the second chance's node.
 * - replyRewrite: the pod's reply at tc egress (its source a local
 *   backend), rewritten to the VIP (its connection established).
 * - backendDecapUnconfirmed, replyUnconfirmed: the same for a connection
 *   the pod has not confirmed yet (its entry in lb4_dsr_revnat_new, the
 *   second table looked up; the reply is a SYN-ACK, which promotes nothing).
 * - replyNotOurs: a packet of the node's own leaving (no entry, no local
 *   backend): what every other packet on the device pays.
 * - replyLost: a local backend's reply without an entry (counted).
 * - dropMonitorOff / dropMonitorOn: a frame whose IPv4 total length runs
 *   past its end (dropped at parsing, before any lookup: the monitor's
 *   share is the largest there), with monitor_gate closed, then open for
 *   drops (the ring buffer drained between runs, every event checked to
 *   have been written).
 * - dsrEncapMonitorOff / dsrEncapMonitorOn: the establishedFlow segment
 *   (DSR-encapsulated to its backend's node) with the gate closed, then open
 *   for traces.
 *
 * Prints one JSON object. Needs root. Usage: npx tsx bench/datapath.ts
 * Environment (quicker runs while working): DSRLB_BENCH_ROUNDS (5),
 * DSRLB_BENCH_RUNS (20000), DSRLB_BENCH_SETS ("1,10000").
 * DSRLB_BENCH_BASELINE=DIR: another build's xdp_lb.o and tc_revnat.o (e.g.
 * main's) measured too, as the set "baseline1" (1 service), alternating
 * with the others: before/after in one run. A build before the unconfirmed
 * table has its entries in its one table.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { BpfObjectFile, BpfObjects, DSRLB_BE_F_LIVE, DSRLB_MAX_FLOWS } from '../src/bpf/index.js';
import { be16, ipv4, pad, struct } from '../src/bpf/codec.js';
import { lb4Tuple } from '../src/bpf/codecs/connections.js';
import { MonitorSession } from '../src/bpf/monitor.js';
import type { Lb4Backend, Lb4Key, Lb4Service } from '../src/bpf/codecs/services.js';
import { maglevTable, maglevTableSize } from '../src/reconcile/maglev.js';
import { buildFrame, buildGeneveFrame, decodeFrame, dsrOption, flowHash, mssOption, secondChanceOption } from '../src/packet/index.js';
import { requireRootOrExit, withCleanup } from './lib/root-run.js';
import { Addr, type Cleanup, Datapath, Mac, NodeId, Proto, XdpAction } from '../test/helpers/datapath.js';

const ROUNDS = Number(process.env.DSRLB_BENCH_ROUNDS ?? 5);
const RUNS = Number(process.env.DSRLB_BENCH_RUNS ?? 20_000);
const SETS = (process.env.DSRLB_BENCH_SETS ?? '1,10000').split(',').map(Number);
const SERVICES = 10_000;
const BACKENDS_PER_SERVICE = 10;
/** Flows in the flow table's LRU (the default map size). */
const FLOW_TABLE = DSRLB_MAX_FLOWS;
/** synBurstBusy: SYNs measured right after the state tables were filled. */
const BURST_RUNS = 2_000;
/** establishedManyFlows: flows visited in turn. */
const MANY_FLOWS = 10_000;
const MIB = 1024 * 1024;

/** What each case measures (printed with the figures; docs/benchmarks.md says the same). */
const CASES: Record<string, string> = {
  xdpPassFloor: '`return XDP_PASS` (xdp_pass.o) on the nonService frame: the cost of BPF_PROG_RUN itself',
  nonService: 'TCP to this node\'s address, port 22 (no frontend uses it; lb4_port_filter written as the control plane must)',
  nonServiceFrontendPort: 'TCP to an address that is no frontend, on a port a frontend uses: the lb4_services lookup misses',
  newFlow: 'SYN of a new tuple (DSR: no per-flow state written)',
  synBurstBusy: `SYN of a new tuple; the first ${BURST_RUNS} right after lb4_flows and lb4_dsr_revnat were filled to their size`,
  lruInsertOnly: 'the newFlow frames through xdp_lru_probe.o: parse + lookup miss + insert into a full lb4_flows-shaped LRU hash, nothing else (what a per-flow insert costs)',
  establishedFlow: 'data segment of one flow whose slot did not move (the previous table is looked up), repeated',
  establishedSecondChance: 'data segment of one flow whose slot moved: sent with the second-chance option',
  establishedManyFlows: `data segments of ${10_000} flows in turn`,
  backendDecap: 'Geneve + DSR option from a node, at the backend node: validated (a node, a frontend here, a local backend of it), reverse-NAT state checked, decapsulated',
  rescueForward: 'Geneve + DSR + second-chance options for a flow the backend node does not know: checked against its tables, re-encapsulated to the second chance\'s node',
  replyRewrite: 'the pod\'s reply at tc egress: source (a local backend) rewritten to the VIP (connection established)',
  backendDecapUnconfirmed: 'backendDecap for a connection the pod has not confirmed (entry in lb4_dsr_revnat_new: the second lookup)',
  replyUnconfirmed: 'the pod\'s SYN-ACK at tc egress for an unconfirmed connection: rewritten, MSS checked, nothing promoted',
  replyNotOurs: 'a packet of the node\'s own at tc egress: no reverse-NAT entry, no local backend: left alone',
  replyLost: 'a local backend\'s reply at tc egress without a reverse-NAT entry: counted (revnat_miss_unknown), left alone',
  dropMonitorOff: 'a frame whose IPv4 total length runs past its end: dropped at parsing; monitor_gate closed (nobody listening)',
  dropMonitorOn: 'the same frame, monitor_gate open for drops: one event per packet into the ring buffer (drained between runs)',
  dsrEncapMonitorOff: 'the establishedFlow segment, DSR-encapsulated to its backend\'s node; monitor_gate closed',
  dsrEncapMonitorOn: 'the same segment, monitor_gate open for traces: one tx_encap event per packet',
};
const BASELINE = process.env.DSRLB_BENCH_BASELINE;
/** lb4_dsr_frontend before it had flags (the baseline's). */
const LEGACY_DSR_FRONTEND = struct('lb4_dsr_frontend', { address: ipv4, port: be16, epoch: pad(2) });
/** The ring buffer is drained every this many runs of a monitor-on case (it holds ~4,000 events). */
const MONITOR_DRAIN_EVERY = 1_000;

const TARGETS = { establishedRatio: 2.5, newFlowRatio: 4.0, nonServiceRatio: 1.2, synBurstSpread: 0.10, servicesSpread: 0.10, memoryBytes: 64 * MIB };

/** Service i's frontend: 250 VIPs x 40 ports. Service 0 is the one the packets go to. */
function frontend(i: number): { vip: string; port: number } {
  return { vip: `203.0.113.${(i % 250) + 1}`, port: 1000 + Math.floor(i / 250) };
}

/**
 * Loads `services` services of BACKENDS_PER_SERVICE remote backends as the
 * control plane writes them (frontend and its lb4_frontends slot, revnat
 * entry, backends, Maglev table, port filter); returns the inner tables' memory.
 */
function loadServices(dp: Datapath, services: number): number {
  const backends: [number, Lb4Backend][] = [];
  const serviceEntries: [Lb4Key, Lb4Service][] = [];
  const revnat: [number, { address: string; port: number }][] = [];
  const tables: [number, Uint32Array | number[]][] = [];
  for (let s = 0; s < services; s++) {
    for (const b of serviceBackends(s)) {
      backends.push([b.id, { address: b.address, port: b.port, proto: Proto.TCP, flags: DSRLB_BE_F_LIVE, nodeId: NodeId.backend, generation: 1 }]);
    }
    tables.push([s + 1, maglevTableOf(s)]);
    const fe = frontend(s);
    revnat.push([s + 1, { address: fe.vip, port: fe.port }]);
    serviceEntries.push([{ address: fe.vip, port: fe.port, proto: Proto.TCP },
      { serviceId: s + 1, affinityTimeout: 0, backendCount: BACKENDS_PER_SERVICE, revnatId: s + 1, flags: 0, kind: 0, internalRevnat: 0, maglevSize: maglevTableSize(BACKENDS_PER_SERVICE) }]);
  }
  const innerBytes = dp.setMaglevBatch(tables);
  // Service 0 changed once: backend 1 was added, its slots were backend 2's.
  const first = tables[0]?.[1] ?? [];
  dp.setPrevMaglevBatch([[1, Array.from(first, (id) => (id === 1 ? 2 : id))]]);
  dp.maps.backends.updateBatch(backends);
  dp.maps.revnat.updateBatch(revnat);
  dp.maps.frontends.updateBatch(serviceEntries.map(([, v]) => [v.revnatId, { serviceId: v.serviceId, generation: 1, flags: v.flags }]));
  dp.maps.services.updateBatch(serviceEntries);
  dp.setPortFilter();
  return innerBytes;
}

/** Kernel-accounted bytes of the map behind `fd`. */
function memlock(fd: number): number {
  const m = /^memlock:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

interface Case {
  readonly name: string;
  /** Untimed preparation before the case's runs in a round. */
  readonly before?: () => void;
  /** One kernel-measured run on the i-th packet of a round; returns ns. */
  readonly run: (i: number) => number;
  /** Runs per round, when not RUNS. */
  readonly runs?: number;
}

/** `twoTables`: the build has lb4_dsr_revnat_new and lb4_backend_frontends (a baseline may not). */
function cases(dp: Datapath, pass: BpfObjectFile, probe: BpfObjectFile, cleanup: Cleanup, twoTables = true): Case[] {
  const fe = frontend(0);
  const eth = { src: Mac.router, dst: Mac.nic };
  /** The n-th client tuple of this run: 10.0.0.0 + n, port 40000 (n < 2^24). */
  const client = (n: number): string => `10.${(n >> 16) & 0xff}.${(n >> 8) & 0xff}.${n & 0xff}`;
  const toVip = (src: string, syn: boolean): Buffer => buildFrame({
    eth, ip: { src, dst: fe.vip },
    tcp: syn ? { sport: 40000, dport: fe.port, flags: { syn: true }, options: mssOption(1460) } : { sport: 40000, dport: fe.port, flags: { ack: true }, payload: Buffer.alloc(64) },
  });
  const nonService = buildFrame({ eth, ip: { src: Addr.client, dst: Addr.lbNode }, tcp: { sport: 40000, dport: 22, flags: { ack: true }, payload: Buffer.alloc(64) } });
  const nonServiceFrontendPort = buildFrame({ eth, ip: { src: Addr.client, dst: Addr.lbNode }, tcp: { sport: 40000, dport: fe.port, flags: { ack: true }, payload: Buffer.alloc(64) } });
  /** A client whose flow's slot holds backend 1 (moved) or another one (not moved) in service 0's table. */
  const size = maglevTableSize(BACKENDS_PER_SERVICE);
  const table0 = maglevTableOf(0);
  const clientWhere = (moved: boolean): string => {
    for (let n = 1 << 20; ; n++) {
      const slot = flowHash({ src: client(n), dst: fe.vip, sport: 40000, dport: fe.port, proto: Proto.TCP }) % size;
      if ((table0[slot] === 1) === moved) return client(n);
    }
  };
  const established = toVip(clientWhere(false), false);
  const movedClient = clientWhere(true);
  const secondChance = toVip(movedClient, false);
  const geneve = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000,
    geneve: { options: [dsrOption(fe.vip, fe.port)] },
    inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40000, dport: 8080, flags: { ack: true }, payload: Buffer.alloc(64) } }),
  });
  const b0 = serviceBackends(0);
  const b1 = b0[0] as { address: string; port: number };
  const b2 = b0[1] as { address: string; port: number };
  const rescue = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50001,
    geneve: { options: [dsrOption(fe.vip, fe.port), secondChanceOption(b2.address, b2.port)] },
    inner: buildFrame({ ip: { src: movedClient, dst: b1.address }, tcp: { sport: 40000, dport: b1.port, flags: { ack: true }, payload: Buffer.alloc(64) } }),
  });
  const replyFrom = (sport: number, dport: number, syn = false): Buffer => buildFrame({
    eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client },
    tcp: { sport, dport, flags: syn ? { syn: true, ack: true } : { ack: true }, ...(syn ? { options: mssOption(1460) } : { payload: Buffer.alloc(64) }) },
  });
  const reply = replyFrom(8080, 40000);
  // A build before the unconfirmed table has one table, and its value is 8 bytes.
  const revnatTable = twoTables ? dp.maps.dsrRevnat : dp.xdp.map('lb4_dsr_revnat', lb4Tuple, LEGACY_DSR_FRONTEND);
  revnatTable.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: fe.vip, port: fe.port });
  // An unconfirmed connection (client port 40001): where this build keeps it.
  const unconfirmed = { saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40001, proto: Proto.TCP, flags: 0 };
  (twoTables ? dp.maps.dsrRevnatNew : revnatTable).update(unconfirmed, { address: fe.vip, port: fe.port });
  const geneveUnconfirmed = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000,
    geneve: { options: [dsrOption(fe.vip, fe.port)] },
    inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40001, dport: 8080, flags: { ack: true }, payload: Buffer.alloc(64) } }),
  });
  const synAckUnconfirmed = replyFrom(8080, 40001, true);
  const notOurs = replyFrom(22, 40002);
  const lost = replyFrom(8080, 40003);
  if (twoTables) dp.maps.backendFrontends.update({ address: Addr.pod, port: 8080, proto: Proto.TCP }, { address: '0.0.0.0', port: 0 });
  // This node as the pod's node: the decapsulated packet and the reply are checked against lb4_local_backends.
  dp.addLocalBackend({ address: Addr.pod, port: 8080, serviceId: 1 });

  const prog = dp.xdp.program('xdp_lb');
  const ctxs = new Map<number, Buffer>();
  const xdpRun = (frame: Buffer): number => {
    let ctx = ctxs.get(frame.length);
    if (!ctx) { ctx = dp.xdpCtx(frame); ctxs.set(frame.length, ctx); }
    return prog.testRun({ data: frame, ctx }).duration;
  };
  let next = 0;
  /** SYNs of `n` tuples never sent before. */
  const freshSyns = (n: number): Buffer[] => Array.from({ length: n }, () => toVip(client(next++), true));

  const manyFlowFrames = Array.from({ length: MANY_FLOWS }, () => toVip(client(next++), false));
  const check = (name: string, frame: Buffer, want: number, options?: number): void => {
    const r = dp.runXdp(frame);
    const got = decodeFrame(r.out).geneve?.options.length;
    if (r.retval !== want || (options !== undefined && got !== options)) throw new Error(`${name}: verdict ${r.retval}, ${got} options`);
  };
  check('establishedFlow', established, XdpAction.TX, 1);
  check('establishedSecondChance', secondChance, XdpAction.TX, 2);
  check('rescueForward', rescue, XdpAction.TX, 1);
  const decap = dp.runXdp(geneve);
  if (decap.retval !== XdpAction.PASS || decap.out.length >= geneve.length) throw new Error('backendDecap: the Geneve frame is not decapsulated');
  if (dp.runXdp(geneveUnconfirmed).retval !== XdpAction.PASS) throw new Error('backendDecapUnconfirmed: the Geneve frame is not decapsulated');

  const passProg = pass.program('xdp_pass');
  const passCtx = dp.xdpCtx(nonService);
  const probeProg = probe.program('xdp_lru_probe');
  const probeCtx = dp.xdpCtx(toVip(client(0), true));
  const probeRun = (frame: Buffer): number => probeProg.testRun({ data: frame, ctx: probeCtx }).duration;
  let frames: Buffer[] = [];
  /** Busy state: both connection tables full of entries (written by hand: the stateless path writes none). */
  const fillState = (): void => {
    const flows = Array.from({ length: FLOW_TABLE }, (_, i) => [
      { saddr: client((1 << 22) + i), daddr: fe.vip, sport: 40000, dport: fe.port, proto: Proto.TCP, flags: 0 },
      { backendId: 1, serviceId: 1, backendGeneration: 1, frontendGeneration: 1, revnatId: 1, state: 0, flags: 0, createdS: 0 },
    ] as const);
    dp.maps.flows.updateBatch(flows);
    dp.maps.dsrRevnat.updateBatch(flows.map(([k]) => [{ ...k, saddr: Addr.pod, daddr: k.saddr, sport: 8080, dport: 40000 }, { address: fe.vip, port: fe.port }] as const));
  };
  const synCase = (name: string, prepare: () => void, runs = RUNS): Case => ({
    name,
    runs,
    before: () => { prepare(); frames = freshSyns(runs); },
    run: (i) => xdpRun(frames[i] as Buffer),
  });
  // A baseline build may have no monitor: its monitor cases are left out.
  const hasMonitor = dp.xdp.mapDescriptions().some((d) => d.name === 'monitor_gate');
  const monitor = hasMonitor ? MonitorSession.open(dp.pinRoot, ['drop', 'trace']) : undefined;
  cleanup.teardown(() => monitor?.close());
  const truncated = Buffer.from(established.subarray(0, established.length - 4));
  if (dp.runXdp(truncated).retval !== XdpAction.DROP) throw new Error('dropMonitorOff: the cut frame is not dropped');
  const gateClosed = (): void => { if (hasMonitor) dp.maps.monitorGate.update(0, { expiresNs: 0n, types: 0, ownerPid: 0 }); };
  if (hasMonitor) gateClosed(); // until a monitor-on case: the setup's packets make no events
  let events = 0;
  let lostBefore = 0n;
  /** A monitor-on case: the gate open (a lease longer than the case), every packet's event read back. */
  const monitorOn = (name: string, frame: Buffer): Case => ({
    name,
    before: () => { monitor?.renew(600_000); monitor?.poll(); events = 0; lostBefore = monitor?.lost() ?? 0n; },
    run: (i) => {
      if (i % MONITOR_DRAIN_EVERY === 0) events += monitor?.poll().length ?? 0;
      const ns = xdpRun(frame);
      if (i === RUNS - 1) {
        events += monitor?.poll().length ?? 0;
        gateClosed();
        const lost = (monitor?.lost() ?? 0n) - lostBefore;
        if (events !== RUNS || lost !== 0n) throw new Error(`${name}: ${events} events of ${RUNS} runs, ${lost} lost`);
      }
      return ns;
    },
  });
  return [
    { name: 'xdpPassFloor', run: () => passProg.testRun({ data: nonService, ctx: passCtx }).duration },
    { name: 'nonService', run: () => xdpRun(nonService) },
    { name: 'nonServiceFrontendPort', run: () => xdpRun(nonServiceFrontendPort) },
    synCase('newFlow', () => undefined),
    synCase('synBurstBusy', fillState, BURST_RUNS),
    {
      name: 'lruInsertOnly',
      before: () => { for (const f of freshSyns(FLOW_TABLE)) probeRun(f); frames = freshSyns(RUNS); },
      run: (i) => probeRun(frames[i] as Buffer),
    },
    { name: 'establishedFlow', run: () => xdpRun(established) },
    { name: 'establishedSecondChance', run: () => xdpRun(secondChance) },
    { name: 'establishedManyFlows', run: (i) => xdpRun(manyFlowFrames[i % MANY_FLOWS] as Buffer) },
    { name: 'backendDecap', run: () => xdpRun(geneve) },
    { name: 'rescueForward', run: () => xdpRun(rescue) },
    { name: 'replyRewrite', run: () => dp.runTc(reply).duration },
    { name: 'backendDecapUnconfirmed', run: () => xdpRun(geneveUnconfirmed) },
    { name: 'replyUnconfirmed', run: () => dp.runTc(synAckUnconfirmed).duration },
    { name: 'replyNotOurs', run: () => dp.runTc(notOurs).duration },
    { name: 'replyLost', run: () => dp.runTc(lost).duration },
    ...(hasMonitor ? [
      { name: 'dropMonitorOff', before: gateClosed, run: () => xdpRun(truncated) },
      monitorOn('dropMonitorOn', truncated),
      { name: 'dsrEncapMonitorOff', before: () => { gateClosed(); xdpRun(established); }, run: () => xdpRun(established) },
      monitorOn('dsrEncapMonitorOn', established),
    ] : []),
  ];
}

/** Service s's backends: ids s * 10 + 1.., addresses from the id. */
function serviceBackends(s: number): { id: number; address: string; port: number }[] {
  return Array.from({ length: BACKENDS_PER_SERVICE }, (_, b) => {
    const id = s * BACKENDS_PER_SERVICE + b + 1;
    return { id, address: `198.18.${(id >> 8) & 0xff}.${id & 0xff}`, port: 8080 + (id >> 16) };
  });
}

/** Service s's Maglev table as loadServices writes it. */
function maglevTableOf(s: number): Uint32Array {
  return maglevTable(serviceBackends(s).map((b) => ({ id: b.id, name: `${b.address}:${b.port}` })), maglevTableSize(BACKENDS_PER_SERVICE));
}

interface MeasuredSet {
  readonly name: string;
  readonly cases: Case[];
}

interface Measured {
  /** Set -> case -> median ns. */
  readonly ns: Record<string, Record<string, number>>;
  /** Set -> case -> median over rounds of (the case's ns / its floor's ns, measured just before). */
  readonly ratio: Record<string, Record<string, number>>;
}

/**
 * Runs every case of every set, round after round, the sets alternating case
 * by case (in both orders), each case right after its set's xdpPassFloor:
 * drift in the machine's load reaches the floor, the cases and both sets
 * alike, and each ratio pairs a case with the floor measured next to it.
 */
function measure(sets: readonly MeasuredSet[]): Measured {
  const ns: Record<string, Record<string, number[]>> = {};
  const ratio: Record<string, Record<string, number[]>> = {};
  const runCase = (c: Case): number => {
    c.before?.();
    const durations: number[] = [];
    for (let i = 0; i < (c.runs ?? RUNS); i++) durations.push(c.run(i));
    return mean(durations);
  };
  const caseCount = sets[0]?.cases.length ?? 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (let c = 1; c < caseCount; c++) {
      for (const set of r % 2 ? [...sets].reverse() : sets) {
        const floor = set.cases[0] as Case;
        const it = set.cases[c] as Case;
        const floorNs = runCase(floor);
        const caseNs = runCase(it);
        const byCase = (ns[set.name] ??= {});
        (byCase[floor.name] ??= []).push(floorNs);
        (byCase[it.name] ??= []).push(caseNs);
        ((ratio[set.name] ??= {})[it.name] ??= []).push(caseNs / floorNs);
      }
    }
  }
  const medians = (m: Record<string, Record<string, number[]>>, digits: number): Record<string, Record<string, number>> =>
    Object.fromEntries(Object.entries(m).map(([set, byCase]) => [set,
      Object.fromEntries(Object.entries(byCase).map(([k, v]) => [k, Number(median(v).toFixed(digits))]))]));
  return { ns: medians(ns, 1), ratio: medians(ratio, 2) };
}

function main(): void {
  requireRootOrExit('bench/datapath');
  let one: Record<string, number> = {};
  let many: Record<string, number> = {};
  let r1: Record<string, number> = {};
  let rN: Record<string, number> = {};
  let memory = { totalBytes: NaN, totalMiB: NaN, byMap: {} as Record<string, number> };
  let memoryAllChanged = { totalBytes: NaN, totalMiB: NaN, previousTables: NaN };
  let m0: Measured = { ns: {}, ratio: {} };
  withCleanup((cleanup) => {
    const pass = BpfObjectFile.load(BpfObjects.xdpPass);
    cleanup.teardown(() => pass.close());
    /** The probe's LRU hash is its own: one per set, like the flow tables. */
    const probe = (): BpfObjectFile => {
      const o = BpfObjectFile.load(BpfObjects.xdpLruProbe);
      cleanup.teardown(() => o.close());
      return o;
    };
    const sets: MeasuredSet[] = [];
    if (SETS.includes(1)) {
      const dp = Datapath.create(cleanup);
      loadServices(dp, 1);
      sets.push({ name: 'services1', cases: cases(dp, pass, probe(), cleanup) });
    }
    if (SETS.includes(SERVICES)) {
      const dp = Datapath.create(cleanup);
      const innerBytes = loadServices(dp, SERVICES);
      const byMap: Record<string, number> = { lb4_maglev_inner_tables: innerBytes };
      for (const m of dp.xdp.mapDescriptions()) byMap[m.name] = memlock(m.fd);
      const total = Object.values(byMap).reduce((a, b) => a + b, 0);
      memory = { totalBytes: total, totalMiB: Number((total / MIB).toFixed(1)), byMap };
      sets.push({ name: 'services10000x10', cases: cases(dp, pass, probe(), cleanup) });
      // The worst case of keeping previous tables until the next change: every service changed once.
      const other = Datapath.create(cleanup);
      const otherInner = loadServices(other, SERVICES);
      const prevInner = other.setPrevMaglevBatch(Array.from({ length: SERVICES }, (_, s) => [s + 1, maglevTableOf(s)] as const));
      let all = otherInner + prevInner;
      for (const m of other.xdp.mapDescriptions()) all += memlock(m.fd);
      memoryAllChanged = { totalBytes: all, totalMiB: Number((all / MIB).toFixed(1)), previousTables: prevInner };
    }
    if (BASELINE) {
      const dp = Datapath.create(cleanup, { objectDir: BASELINE });
      loadServices(dp, 1);
      const twoTables = dp.xdp.mapDescriptions().some((d) => d.name === 'lb4_dsr_revnat_new');
      sets.push({ name: 'baseline1', cases: cases(dp, pass, probe(), cleanup, twoTables) });
    }
    const m = measure(sets);
    one = m.ns.services1 ?? {};
    many = m.ns.services10000x10 ?? {};
    r1 = m.ratio.services1 ?? {};
    rN = m.ratio.services10000x10 ?? {};
    m0 = m;
  });

  const spread = Object.fromEntries(Object.keys(r1)
    .map((k) => [k, Number(((rN[k] ?? NaN) / (r1[k] ?? NaN) - 1).toFixed(3))]));
  const worst = (k: string): number => Math.max(r1[k] ?? -Infinity, rN[k] ?? -Infinity);
  const burst = (r: Record<string, number>): number => (r.synBurstBusy ?? NaN) / (r.newFlow ?? NaN) - 1;
  const targetsMet = {
    establishedRatio: worst('establishedFlow') <= TARGETS.establishedRatio,
    newFlowRatio: worst('newFlow') <= TARGETS.newFlowRatio,
    nonServiceRatio: worst('nonService') <= TARGETS.nonServiceRatio,
    synBurstSpread: Math.max(Math.abs(burst(r1)), Math.abs(burst(rN))) <= TARGETS.synBurstSpread,
    servicesSpread: ['nonService', 'newFlow', 'establishedFlow', 'backendDecap', 'replyRewrite'].every((k) => Math.abs(spread[k] ?? Infinity) <= TARGETS.servicesSpread),
    memory: memory.totalBytes <= TARGETS.memoryBytes,
  };
  const result = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), node: process.version,
    },
    method: {
      rounds: ROUNDS, runsPerRound: RUNS, flowTable: FLOW_TABLE,
      statistic: 'ns: median over rounds of the mean kernel-reported ns of repeat=1 runs; ratio: median over rounds of (case / xdpPassFloor measured just before it); the two sets alternate case by case',
    },
    cases: CASES,
    nsPerPacket: { services1: one, services10000x10: many, ...(m0.ns.baseline1 ? { baseline1: m0.ns.baseline1 } : {}) },
    ratioToXdpPass: { services1: r1, services10000x10: rN, ...(m0.ratio.baseline1 ? { baseline1: m0.ratio.baseline1 } : {}) },
    ...(BASELINE ? {
      baseline: BASELINE,
      /** services1's ratio / baseline1's, case by case: this build against the baseline, in the same run. */
      againstBaseline: Object.fromEntries(Object.keys(r1).map((k) => [k, Number(((r1[k] ?? NaN) / (m0.ratio.baseline1?.[k] ?? NaN)).toFixed(3))])),
    } : {}),
    relativeChange10000vs1: spread,
    synBurstVsNewFlow: { services1: Number(burst(r1).toFixed(3)), services10000x10: Number(burst(rN).toFixed(3)) },
    /** Monitor on / off, each as a ratio to its floor: what listening costs a packet that makes an event. */
    monitorOnVsOff: Object.fromEntries(Object.entries({ services1: r1, services10000x10: rN }).map(([set, r]) => [set, {
      drop: Number(((r.dropMonitorOn ?? NaN) / (r.dropMonitorOff ?? NaN)).toFixed(2)),
      dsrEncap: Number(((r.dsrEncapMonitorOn ?? NaN) / (r.dsrEncapMonitorOff ?? NaN)).toFixed(2)),
    }])),
    mapMemory10000x10: memory,
    mapMemory10000x10EveryServiceChangedOnce: memoryAllChanged,
    targets: TARGETS,
    targetsMet,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main();
