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
 * - newFlow: a SYN of a tuple never seen, into a flow table full of idle
 *   flows (filled with as many new flows as it holds before each round):
 *   each insert evicts an idle entry. This is the steady state of an LRU flow
 *   table, which nothing empties.
 * - newFlowRoom: the same, into a table emptied before each round (best
 *   case: after a start, or with entries deleted).
 * - lruInsertOnly: the newFlow frames through xdp_lru_probe.o, which only
 *   parses them and inserts their tuple into its own LRU hash shaped like
 *   lb4_flows (full before each round, as for newFlow): what the kernel's LRU
 *   insert costs by itself.
 * - newFlowWorst: the first 2,000 such SYNs into a full table every entry of
 *   which was just used (referenced, so the LRU scans before it can evict;
 *   later inserts meet fewer referenced entries and cost less).
 * - establishedFlow: a data segment of one flow, repeated (warm caches).
 * - establishedManyFlows: data segments of 10,000 existing flows in turn
 *   (each packet's flow and bucket are cold in the cache).
 * - backendDecap: Geneve with the DSR option arriving at a backend node
 *   (checked: from a node, for a frontend here, to a local backend of it).
 * - replyRewrite: the pod's reply at tc egress (its source a local
 *   backend), rewritten to the VIP.
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
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { BpfObjectFile, BpfObjects, DSRLB_BE_F_LIVE, DSRLB_MAX_FLOWS } from '../src/bpf/index.js';
import { MonitorSession } from '../src/bpf/monitor.js';
import type { Lb4Backend, Lb4Key, Lb4Service } from '../src/bpf/codecs/services.js';
import { maglevTable, maglevTableSize } from '../src/reconcile/maglev.js';
import { buildFrame, buildGeneveFrame, dsrOption, mssOption } from '../src/packet/index.js';
import { Addr, type Cleanup, Datapath, Mac, NodeId, Proto, XdpAction } from '../test/helpers/datapath.js';

const ROUNDS = Number(process.env.DSRLB_BENCH_ROUNDS ?? 5);
const RUNS = Number(process.env.DSRLB_BENCH_RUNS ?? 20_000);
const SETS = (process.env.DSRLB_BENCH_SETS ?? '1,10000').split(',').map(Number);
const SERVICES = 10_000;
const BACKENDS_PER_SERVICE = 10;
/** Flows in the flow table's LRU (the default map size). */
const FLOW_TABLE = DSRLB_MAX_FLOWS;
/** newFlowWorst: SYNs measured right after every flow in the table was used (later ones meet fewer). */
const WORST_RUNS = 2_000;
/** establishedManyFlows: flows visited in turn. */
const MANY_FLOWS = 10_000;
const MIB = 1024 * 1024;

/** What each case measures (printed with the figures; docs/benchmarks.md says the same). */
const CASES: Record<string, string> = {
  xdpPassFloor: '`return XDP_PASS` (xdp_pass.o) on the nonService frame: the cost of BPF_PROG_RUN itself',
  nonService: 'TCP to this node\'s address, port 22 (no frontend uses it; lb4_port_filter written as the control plane must)',
  nonServiceFrontendPort: 'TCP to an address that is no frontend, on a port a frontend uses: the lb4_services lookup misses',
  newFlow: 'SYN of a new tuple; flow table full of idle flows (refilled before each round): each insert evicts one (LRU steady state)',
  newFlowRoom: 'SYN of a new tuple; flow table emptied before each round: no eviction (best case)',
  lruInsertOnly: 'the newFlow frames through xdp_lru_probe.o: parse + lookup miss + insert into a full lb4_flows-shaped LRU hash, nothing else',
  newFlowWorst: `SYN of a new tuple; the first ${WORST_RUNS} into a full table every flow of which was just used (worst case)`,
  establishedFlow: 'data segment of one existing flow, repeated (warm caches)',
  establishedManyFlows: `data segments of ${10_000} existing flows in turn (each packet's flow entry cold)`,
  backendDecap: 'Geneve + DSR option from a node, at the backend node: validated (a node, a frontend here, a local backend of it), reverse-NAT state checked, decapsulated',
  replyRewrite: 'the pod\'s reply at tc egress: source (a local backend) rewritten to the VIP',
  dropMonitorOff: 'a frame whose IPv4 total length runs past its end: dropped at parsing; monitor_gate closed (nobody listening)',
  dropMonitorOn: 'the same frame, monitor_gate open for drops: one event per packet into the ring buffer (drained between runs)',
  dsrEncapMonitorOff: 'the establishedFlow segment, DSR-encapsulated to its backend\'s node; monitor_gate closed',
  dsrEncapMonitorOn: 'the same segment, monitor_gate open for traces: one tx_encap event per packet',
};
/** The ring buffer is drained every this many runs of a monitor-on case (it holds ~4,000 events). */
const MONITOR_DRAIN_EVERY = 1_000;

const TARGETS = { establishedRatio: 3.0, newFlowRatio: 5.0, nonServiceRatio: 1.5, servicesSpread: 0.10, memoryBytes: 64 * MIB };

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
  const size = maglevTableSize(BACKENDS_PER_SERVICE);
  for (let s = 0; s < services; s++) {
    const ids: { id: number; name: string }[] = [];
    for (let b = 0; b < BACKENDS_PER_SERVICE; b++) {
      const id = s * BACKENDS_PER_SERVICE + b + 1;
      const address = `198.18.${(id >> 8) & 0xff}.${id & 0xff}`;
      const port = 8080 + (id >> 16);
      backends.push([id, { address, port, proto: Proto.TCP, flags: DSRLB_BE_F_LIVE, nodeId: NodeId.backend, generation: 1 }]);
      ids.push({ id, name: `${address}:${port}` });
    }
    tables.push([s + 1, maglevTable(ids, size)]);
    const fe = frontend(s);
    revnat.push([s + 1, { address: fe.vip, port: fe.port }]);
    serviceEntries.push([{ address: fe.vip, port: fe.port, proto: Proto.TCP },
      { serviceId: s + 1, affinityTimeout: 0, backendCount: BACKENDS_PER_SERVICE, revnatId: s + 1, flags: 0, kind: 0, internalRevnat: 0, maglevSize: size }]);
  }
  const innerBytes = dp.setMaglevBatch(tables);
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

function cases(dp: Datapath, pass: BpfObjectFile, probe: BpfObjectFile, cleanup: Cleanup): Case[] {
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
  const established = toVip(Addr.client, false);
  const geneve = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000,
    geneve: { options: [dsrOption(fe.vip, fe.port)] },
    inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40000, dport: 8080, flags: { ack: true }, payload: Buffer.alloc(64) } }),
  });
  const reply = buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client }, tcp: { sport: 8080, dport: 40000, flags: { ack: true }, payload: Buffer.alloc(64) } });
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: fe.vip, port: fe.port });
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
  const send = (frames: readonly Buffer[]): void => { for (const f of frames) xdpRun(f); };

  const manyFlows = Array.from({ length: MANY_FLOWS }, () => client(next++));
  send(manyFlows.map((c) => toVip(c, true)));
  const manyFlowFrames = manyFlows.map((c) => toVip(c, false));
  xdpRun(established); // the flow now exists
  const decap = dp.runXdp(geneve);
  if (decap.retval !== XdpAction.PASS || decap.out.length >= geneve.length) throw new Error('backendDecap: the Geneve frame is not decapsulated');

  const passProg = pass.program('xdp_pass');
  const passCtx = dp.xdpCtx(nonService);
  const probeProg = probe.program('xdp_lru_probe');
  const probeCtx = dp.xdpCtx(toVip(client(0), true));
  const probeRun = (frame: Buffer): number => probeProg.testRun({ data: frame, ctx: probeCtx }).duration;
  let frames: Buffer[] = [];
  const newFlowCase = (name: string, prepare: () => void, runs = RUNS): Case => ({
    name,
    runs,
    before: () => { prepare(); frames = freshSyns(runs); },
    run: (i) => xdpRun(frames[i] as Buffer),
  });
  /** The figure would mean something else if some flows had to be inserted again. */
  const checkPresent = (clients: readonly string[]): void => {
    const missing = clients.filter((c) => !dp.maps.flows.lookup({ saddr: c, daddr: fe.vip, sport: 40000, dport: fe.port, proto: Proto.TCP, flags: 0 })).length;
    if (missing > 0) throw new Error(`establishedManyFlows: ${missing} of ${clients.length} flows are not in the flow table`);
  };
  /** Every entry of the flow table, referenced by a packet of its flow. */
  const referenceAll = (): void => {
    for (const [k] of dp.maps.flows.entries()) xdpRun(toVip(k.saddr, false));
  };
  const monitor = MonitorSession.open(dp.pinRoot, ['drop', 'trace']);
  cleanup.teardown(() => monitor.close());
  const truncated = Buffer.from(established.subarray(0, established.length - 4));
  if (dp.runXdp(truncated).retval !== XdpAction.DROP) throw new Error('dropMonitorOff: the cut frame is not dropped');
  const gateClosed = (): void => { dp.maps.monitorGate.update(0, { expiresNs: 0n, types: 0, ownerPid: 0 }); };
  gateClosed(); // until a monitor-on case: the setup's packets make no events
  let events = 0;
  let lostBefore = 0n;
  /** A monitor-on case: the gate open (a lease longer than the case), every packet's event read back. */
  const monitorOn = (name: string, frame: Buffer): Case => ({
    name,
    before: () => { monitor.renew(600_000); monitor.poll(); events = 0; lostBefore = monitor.lost(); },
    run: (i) => {
      if (i % MONITOR_DRAIN_EVERY === 0) events += monitor.poll().length;
      const ns = xdpRun(frame);
      if (i === RUNS - 1) {
        events += monitor.poll().length;
        gateClosed();
        const lost = monitor.lost() - lostBefore;
        if (events !== RUNS || lost !== 0n) throw new Error(`${name}: ${events} events of ${RUNS} runs, ${lost} lost`);
      }
      return ns;
    },
  });
  return [
    { name: 'xdpPassFloor', run: () => passProg.testRun({ data: nonService, ctx: passCtx }).duration },
    { name: 'nonService', run: () => xdpRun(nonService) },
    { name: 'nonServiceFrontendPort', run: () => xdpRun(nonServiceFrontendPort) },
    newFlowCase('newFlow', () => { send(freshSyns(FLOW_TABLE)); }),
    newFlowCase('newFlowRoom', () => { dp.maps.flows.deleteBatch(dp.maps.flows.entries().map(([k]) => k)); xdpRun(established); }),
    {
      name: 'lruInsertOnly',
      before: () => { for (const f of freshSyns(FLOW_TABLE)) probeRun(f); frames = freshSyns(RUNS); },
      run: (i) => probeRun(frames[i] as Buffer),
    },
    newFlowCase('newFlowWorst', () => { send(freshSyns(FLOW_TABLE)); referenceAll(); }, WORST_RUNS),
    { name: 'establishedFlow', before: () => { xdpRun(established); }, run: () => xdpRun(established) },
    { name: 'establishedManyFlows', before: () => { send(manyFlowFrames); send(manyFlowFrames); checkPresent(manyFlows); }, run: (i) => xdpRun(manyFlowFrames[i % MANY_FLOWS] as Buffer) },
    { name: 'backendDecap', run: () => xdpRun(geneve) },
    { name: 'replyRewrite', run: () => dp.runTc(reply).duration },
    { name: 'dropMonitorOff', before: gateClosed, run: () => xdpRun(truncated) },
    monitorOn('dropMonitorOn', truncated),
    { name: 'dsrEncapMonitorOff', before: () => { gateClosed(); xdpRun(established); }, run: () => xdpRun(established) },
    monitorOn('dsrEncapMonitorOn', established),
  ];
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
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/datapath: needs root (BPF_PROG_RUN, bpffs, a test veth)\n');
    process.exit(1);
  }
  const steps: (() => void)[] = [];
  const cleanup: Cleanup = { teardown: (step) => { steps.push(step); } };
  let one: Record<string, number> = {};
  let many: Record<string, number> = {};
  let r1: Record<string, number> = {};
  let rN: Record<string, number> = {};
  let memory = { totalBytes: NaN, totalMiB: NaN, byMap: {} as Record<string, number> };
  try {
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
    }
    const m = measure(sets);
    one = m.ns.services1 ?? {};
    many = m.ns.services10000x10 ?? {};
    r1 = m.ratio.services1 ?? {};
    rN = m.ratio.services10000x10 ?? {};
  } finally {
    for (const step of steps.reverse()) {
      try { step(); } catch { /* best effort */ }
    }
  }

  const spread = Object.fromEntries(Object.keys(r1)
    .map((k) => [k, Number(((rN[k] ?? NaN) / (r1[k] ?? NaN) - 1).toFixed(3))]));
  const worst = (k: string): number => Math.max(r1[k] ?? -Infinity, rN[k] ?? -Infinity);
  const targetsMet = {
    establishedRatio: worst('establishedFlow') <= TARGETS.establishedRatio,
    newFlowRatio: worst('newFlow') <= TARGETS.newFlowRatio,
    nonServiceRatio: worst('nonService') <= TARGETS.nonServiceRatio,
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
    nsPerPacket: { services1: one, services10000x10: many },
    ratioToXdpPass: { services1: r1, services10000x10: rN },
    relativeChange10000vs1: spread,
    /** Monitor on / off, each as a ratio to its floor: what listening costs a packet that makes an event. */
    monitorOnVsOff: Object.fromEntries(Object.entries({ services1: r1, services10000x10: rN }).map(([set, r]) => [set, {
      drop: Number(((r.dropMonitorOn ?? NaN) / (r.dropMonitorOff ?? NaN)).toFixed(2)),
      dsrEncap: Number(((r.dsrEncapMonitorOn ?? NaN) / (r.dsrEncapMonitorOff ?? NaN)).toFixed(2)),
    }])),
    mapMemory10000x10: memory,
    targets: TARGETS,
    targetsMet,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main();
