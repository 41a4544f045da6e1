/**
 * Datapath cost per packet, measured with BPF_PROG_RUN on the real programs
 * (issue 3, Benchmark): each figure is the mean kernel-reported duration of
 * many repeat=1 runs (repeat>1 would re-feed the rewritten packet), the
 * median of 5 rounds, beside `return XDP_PASS` measured the same way in the
 * same rounds. Every case runs with 1 service and with 10,000 services x 10
 * backends loaded; the map memory of the latter is reported too.
 *
 * Prints one JSON object. Needs root. Usage: npx tsx bench/datapath.ts
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { BpfObjectFile, BpfObjects } from '../src/bpf/index.js';
import { maglevTable, maglevTableSize } from '../src/datapath/maglev.js';
import { buildFrame, buildGeneveFrame, dsrOption, mssOption } from '../src/packet/index.js';
import { Addr, type Cleanup, Datapath, Mac, NodeId, Proto } from '../test/helpers/datapath.js';

const ROUNDS = 5;
const RUNS = 20_000;
const SERVICES = 10_000;
const BACKENDS_PER_SERVICE = 10;
const MIB = 1024 * 1024;

const TARGETS = { establishedRatio: 3.0, newFlowRatio: 5.0, nonServiceRatio: 1.5, servicesSpread: 0.10, memoryBytes: 64 * MIB };

/** Service i's frontend: 250 VIPs x 40 ports. Service 0 is the one the packets go to. */
function frontend(i: number): { vip: string; port: number } {
  return { vip: `203.0.113.${(i % 250) + 1}`, port: 1000 + Math.floor(i / 250) };
}

/** Loads `services` services of BACKENDS_PER_SERVICE remote backends; returns the inner tables' memory. */
function loadServices(dp: Datapath, services: number): number {
  const backends: [number, { address: string; port: number; proto: number; flags: number; nodeId: number }][] = [];
  const serviceEntries: [{ address: string; port: number; proto: number }, { serviceId: number; affinityTimeout: number; backendCount: number; revnatId: number; flags: number; maglevSize: number }][] = [];
  let innerBytes = 0;
  for (let s = 0; s < services; s++) {
    const ids: { id: number; name: string }[] = [];
    for (let b = 0; b < BACKENDS_PER_SERVICE; b++) {
      const id = s * BACKENDS_PER_SERVICE + b + 1;
      const address = `198.18.${(id >> 8) & 0xff}.${id & 0xff}`;
      const port = 8080 + (id >> 16);
      backends.push([id, { address, port, proto: Proto.TCP, flags: 0, nodeId: NodeId.backend }]);
      ids.push({ id, name: `${address}:${port}` });
    }
    const size = maglevTableSize(BACKENDS_PER_SERVICE);
    innerBytes += dp.setMaglev(s + 1, maglevTable(ids, size));
    const fe = frontend(s);
    serviceEntries.push([{ address: fe.vip, port: fe.port, proto: Proto.TCP },
      { serviceId: s + 1, affinityTimeout: 0, backendCount: BACKENDS_PER_SERVICE, revnatId: s + 1, flags: 0, maglevSize: size }]);
  }
  dp.maps.backends.updateBatch(backends);
  dp.maps.services.updateBatch(serviceEntries);
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
  /** One kernel-measured run on the i-th packet of a round; returns ns. */
  readonly run: (i: number) => number;
}

function cases(dp: Datapath, pass: BpfObjectFile, round: () => number): Case[] {
  const fe = frontend(0);
  const eth = { src: Mac.router, dst: Mac.nic };
  const toVip = (sport: number, client: string = Addr.client, syn = false): Buffer => buildFrame({
    eth, ip: { src: client, dst: fe.vip },
    tcp: syn ? { sport, dport: fe.port, flags: { syn: true }, options: mssOption(1460) } : { sport, dport: fe.port, flags: { ack: true }, payload: Buffer.alloc(64) },
  });
  const nonService = buildFrame({ eth, ip: { src: Addr.client, dst: Addr.lbNode }, tcp: { sport: 40000, dport: 22, flags: { ack: true }, payload: Buffer.alloc(64) } });
  const established = toVip(40000);
  // A SYN from a distinct client and port per round and run: every packet starts a flow.
  const newFlows = (r: number): Buffer[] => Array.from({ length: RUNS }, (_, i) => toVip(1024 + (i % 60000), `198.51.${100 + r}.${1 + Math.floor(i / 60000)}`, true));
  const geneve = buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic }, outer: { src: Addr.backendNode, dst: Addr.lbNode }, sport: 50000,
    geneve: { options: [dsrOption(fe.vip, fe.port)] },
    inner: buildFrame({ ip: { src: Addr.client, dst: Addr.pod }, tcp: { sport: 40000, dport: 8080, flags: { ack: true }, payload: Buffer.alloc(64) } }),
  });
  const reply = buildFrame({ eth: { src: Mac.nic, dst: Mac.router }, ip: { src: Addr.pod, dst: Addr.client }, tcp: { sport: 8080, dport: 40000, flags: { ack: true }, payload: Buffer.alloc(64) } });
  dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: 40000, proto: Proto.TCP, flags: 0 }, { address: fe.vip, port: fe.port });
  dp.runXdp(established); // the flow now exists

  const passProg = pass.program('xdp_pass');
  const xdpRun = (frame: Buffer): number => dp.runXdp(frame).duration;
  let roundFrames: Buffer[] = [];
  let framesRound = -1;
  return [
    { name: 'xdpPassFloor', run: () => passProg.testRun({ data: nonService, ctx: dp.xdpCtx(nonService) }).duration },
    { name: 'nonService', run: () => xdpRun(nonService) },
    {
      name: 'newFlow',
      run: (i) => {
        if (framesRound !== round()) { framesRound = round(); roundFrames = newFlows(framesRound); }
        return xdpRun(roundFrames[i] ?? established);
      },
    },
    { name: 'establishedFlow', run: () => xdpRun(established) },
    { name: 'backendDecap', run: () => xdpRun(geneve) },
    { name: 'replyRewrite', run: () => dp.runTc(reply).duration },
  ];
}

function measure(dp: Datapath, pass: BpfObjectFile): Record<string, number> {
  let r = 0;
  const all = cases(dp, pass, () => r);
  const perRound: Record<string, number[]> = {};
  for (r = 0; r < ROUNDS; r++) {
    for (const c of all) {
      const durations: number[] = [];
      for (let i = 0; i < RUNS; i++) durations.push(c.run(i));
      (perRound[c.name] ??= []).push(mean(durations));
    }
  }
  return Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, Number(median(v).toFixed(1))]));
}

function withDatapath<T>(fn: (dp: Datapath, pass: BpfObjectFile) => T): T {
  const steps: (() => void)[] = [];
  const cleanup: Cleanup = { teardown: (step) => { steps.push(step); } };
  try {
    const dp = Datapath.create(cleanup);
    const pass = BpfObjectFile.load(BpfObjects.xdpPass);
    cleanup.teardown(() => pass.close());
    return fn(dp, pass);
  } finally {
    for (const step of steps.reverse()) {
      try { step(); } catch { /* best effort */ }
    }
  }
}

function ratios(ns: Record<string, number>): Record<string, number> {
  const floor = ns.xdpPassFloor ?? NaN;
  return Object.fromEntries(Object.entries(ns).filter(([k]) => k !== 'xdpPassFloor').map(([k, v]) => [k, Number((v / floor).toFixed(2))]));
}

function main(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/datapath: needs root (BPF_PROG_RUN, bpffs, a test veth)\n');
    process.exit(1);
  }
  const one = withDatapath((dp, pass) => {
    loadServices(dp, 1);
    return measure(dp, pass);
  });
  const { many, memory } = withDatapath((dp, pass) => {
    const innerBytes = loadServices(dp, SERVICES);
    const byMap: Record<string, number> = { lb4_maglev_inner_tables: innerBytes };
    for (const m of dp.xdp.mapDescriptions()) byMap[m.name] = memlock(m.fd);
    const total = Object.values(byMap).reduce((a, b) => a + b, 0);
    return { many: measure(dp, pass), memory: { totalBytes: total, totalMiB: Number((total / MIB).toFixed(1)), byMap } };
  });

  const r1 = ratios(one);
  const rN = ratios(many);
  const spread = Object.fromEntries(Object.keys(one).filter((k) => k !== 'xdpPassFloor')
    .map((k) => [k, Number((((many[k] ?? NaN) / (many.xdpPassFloor ?? NaN)) / ((one[k] ?? NaN) / (one.xdpPassFloor ?? NaN)) - 1).toFixed(3))]));
  const targetsMet = {
    establishedRatio: Math.max(r1.establishedFlow ?? Infinity, rN.establishedFlow ?? Infinity) <= TARGETS.establishedRatio,
    newFlowRatio: Math.max(r1.newFlow ?? Infinity, rN.newFlow ?? Infinity) <= TARGETS.newFlowRatio,
    nonServiceRatio: Math.max(r1.nonService ?? Infinity, rN.nonService ?? Infinity) <= TARGETS.nonServiceRatio,
    servicesSpread: Object.values(spread).every((s) => Math.abs(s) <= TARGETS.servicesSpread),
    memory: memory.totalBytes <= TARGETS.memoryBytes,
  };
  const result = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
      kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), node: process.version,
    },
    method: { rounds: ROUNDS, runsPerRound: RUNS, statistic: 'median over rounds of the mean kernel-reported ns of repeat=1 runs' },
    nsPerPacket: { services1: one, services10000x10: many },
    ratioToXdpPass: { services1: r1, services10000x10: rN },
    relativeChange10000vs1: spread,
    mapMemory10000x10: memory,
    targets: TARGETS,
    targetsMet,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main();
