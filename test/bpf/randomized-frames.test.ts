/**
 * 100,000 random and mutated frames through each program. Whatever a
 * program transmits (XDP_TX / XDP_REDIRECT, or any frame tc egress changed)
 * must decode cleanly with correct checksums; the only problems allowed are
 * ones the input already had (a bad client checksum stays bad, never gets
 * worse). The generator is seeded: a failure names the seed to replay it.
 */
import test from 'ava';
import {
  buildFrame, buildGeneveFrame, dsrOption, frameProblems, mssOption, type GeneveOption,
} from '../../src/packet/index.js';
import { Addr, Datapath, Mac, NodeId, Proto, SvcFlag, TcAction, XdpAction, type Mode } from '../helpers/datapath.js';
import { seededRandom } from '../helpers/rng.js';

const FRAMES = 100_000;
const SEED = Number(process.env.DSRLB_FUZZ_SEED ?? 0x5eed);


class Gen {
  private readonly next: () => number;
  constructor(seed: number) { this.next = seededRandom(seed); }
  int(n: number): number { return Math.floor(this.next() * n); }
  chance(p: number): boolean { return this.next() < p; }
  pick<T>(xs: readonly T[]): T { return xs[this.int(xs.length)] as T; }
  bytes(n: number): Buffer { return Buffer.from(Array.from({ length: n }, () => this.int(256))); }
}

const FRONTEND_PORTS = [80, 81, 82, 83, 84, 85] as const;

function setUp(dp: Datapath): void {
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.addBackend({ id: 12, address: Addr.pod2, port: 8080, nodeId: NodeId.other, terminating: true });
  dp.addBackend({ id: 13, address: Addr.localPod, port: 8080, nodeId: NodeId.lb });
  dp.addBackend({ id: 14, address: Addr.pod, port: 5353, nodeId: NodeId.backend, proto: Proto.UDP });
  dp.setService({ serviceId: 1, port: 80, backends: [11, 12, 13] });
  dp.setService({ serviceId: 2, port: 81, backends: [13] });
  dp.setService({ serviceId: 3, port: 82, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });
  dp.setService({ serviceId: 4, port: 83, backends: [11], flags: SvcFlag.AFFINITY | SvcFlag.SOURCE_RANGES, affinityTimeout: 60 });
  dp.maps.sourceRanges.update({ prefixlen: 32 + 24, serviceId: 4, address: '198.51.100.0' }, 1);
  dp.setService({ serviceId: 5, port: 53, proto: Proto.UDP, backends: [14] });
  dp.setService({ serviceId: 6, port: 53, proto: Proto.UDP, vip: '203.0.113.11', backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });
}

function tcpOptions(g: Gen): Buffer {
  const parts: Buffer[] = [];
  if (g.chance(0.6)) parts.push(mssOption(g.int(65536)));
  while (g.chance(0.4)) parts.push(g.pick([Buffer.from([1]), Buffer.from([4, 2]), Buffer.from([3, 3, 7]), g.bytes(g.int(6))]));
  return Buffer.concat(parts).subarray(0, 40);
}

function ipExtras(g: Gen): { options?: Buffer; df: boolean; tos: number; ttl: number; id: number } {
  return {
    ...(g.chance(0.2) ? { options: g.bytes(4 * (1 + g.int(10))) } : {}),
    df: g.chance(0.8), tos: g.int(256), ttl: 1 + g.int(255), id: g.int(65536),
  };
}

function clientFrame(g: Gen): Buffer {
  const src = g.chance(0.9) ? Addr.client : `198.51.${g.int(256)}.${g.int(256)}`;
  const eth = { src: Mac.router, dst: Mac.nic };
  const payload = g.bytes(g.chance(0.1) ? 1300 + g.int(200) : g.int(200));
  if (g.chance(0.7)) {
    return buildFrame({
      eth, ip: { src, dst: Addr.vip, ...ipExtras(g) },
      tcp: {
        sport: 1024 + g.int(64512), dport: g.pick(FRONTEND_PORTS), seq: g.int(2 ** 32), ack: g.int(2 ** 32),
        flags: { syn: g.chance(0.3), ack: g.chance(0.7), rst: g.chance(0.05), fin: g.chance(0.05), psh: g.chance(0.3) },
        options: tcpOptions(g), payload,
      },
    });
  }
  return buildFrame({
    eth, ip: { src, dst: g.pick([Addr.vip, '203.0.113.11']), ...ipExtras(g) },
    udp: { sport: 1024 + g.int(64512), dport: 53, payload, ...(g.chance(0.2) ? { checksum: 'none' as const } : {}) },
  });
}

function geneveFrame(g: Gen): Buffer {
  const options: GeneveOption[] = [];
  if (g.chance(0.8)) options.push(dsrOption(Addr.vip, g.pick(FRONTEND_PORTS)));
  if (g.chance(0.2)) options.push({ optClass: g.int(65536), type: g.int(256), data: g.bytes(4 * g.int(4)) });
  const inner = g.chance(0.5) ? clientFrame(g) : buildFrame({
    // Mostly a backend on this node (delivered when the option names one of its frontends), else a remote one (refused).
    ip: { src: Addr.client, dst: g.chance(0.8) ? Addr.localPod : Addr.pod }, tcp: { sport: g.int(65536), dport: 8080, flags: { ack: true }, payload: g.bytes(g.int(100)) },
  });
  return buildGeneveFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    outer: { src: g.chance(0.9) ? Addr.backendNode : Addr.stranger, dst: Addr.lbNode },
    sport: 49152 + g.int(16384), geneve: { options }, inner,
  });
}

function snatReply(g: Gen): Buffer {
  return buildFrame({
    eth: { src: Mac.backendNode, dst: Mac.nic },
    ip: { src: Addr.pod, dst: Addr.lbNode, ...ipExtras(g) },
    tcp: { sport: 8080, dport: 61000 + g.int(4536), flags: { ack: true }, payload: g.bytes(g.int(64)) },
  });
}

function podReply(g: Gen): Buffer {
  const proto = g.chance(0.8) ? Proto.TCP : Proto.UDP;
  const ip = { src: g.chance(0.9) ? Addr.pod : Addr.pod2, dst: Addr.client, ...ipExtras(g) };
  const eth = { src: Mac.nic, dst: Mac.router };
  const sport = 8080;
  const dport = 40000 + g.int(8);
  const payload = g.bytes(g.int(300));
  if (proto === Proto.UDP) return buildFrame({ eth, ip, udp: { sport, dport, payload, ...(g.chance(0.3) ? { checksum: 'none' as const } : {}) } });
  return buildFrame({ eth, ip, tcp: { sport, dport, flags: { syn: g.chance(0.4), ack: g.chance(0.8) }, options: tcpOptions(g), payload } });
}

function mutate(g: Gen, frame: Buffer): Buffer {
  let f = Buffer.from(frame);
  const n = 1 + g.int(4);
  for (let i = 0; i < n; i++) {
    switch (g.int(6)) {
      case 0: { const at = g.int(f.length); f[at] = (f[at] ?? 0) ^ (1 << g.int(8)); break; }
      case 1: f[g.int(f.length)] = g.int(256); break;
      case 2: f = f.subarray(0, 14 + g.int(Math.max(1, f.length - 14))); break;
      case 3: f = Buffer.concat([f, g.bytes(1 + g.int(64))]); break;
      case 4: if (f.length > 14) f[14] = 0x40 | g.int(16); break; // version 4, any IHL
      default: { const at = 14 + 20 + 12; if (f.length > at) f[at] = g.int(256); } // TCP data offset byte
    }
  }
  return f;
}

/** Problems of `out` the input did not already have (directly or as the inner frame). */
function newProblems(input: Buffer, out: Buffer): string[] {
  const inherited = new Set(frameProblems(input).flatMap((p) => [p, `inner ${p}`]));
  return frameProblems(out).filter((p) => !inherited.has(p));
}

test.serial('100,000 random and mutated frames through xdp_lb: everything transmitted is well formed', (t) => {
  const dp = Datapath.open(t);
  setUp(dp);
  const g = new Gen(SEED);
  const verdicts = new Map<number, number>();
  const modes: readonly Mode[] = ['dsr', 'snat', 'hybrid'];
  let failures = 0;
  for (let i = 0; i < FRAMES; i++) {
    if (i % 5000 === 0) dp.setConfig({ mode: modes[(i / 5000) % modes.length] ?? 'dsr', mtu: g.pick([1500, 1500, 1400, 9000]) });
    const kind = g.int(10);
    let frame: Buffer;
    if (kind < 5) frame = clientFrame(g);
    else if (kind < 7) frame = geneveFrame(g);
    else if (kind < 8) frame = snatReply(g);
    else if (kind < 9) frame = buildFrame({ eth: { dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.vip, protocol: g.int(256) }, raw: g.bytes(g.int(100)) });
    else frame = Buffer.concat([Buffer.from('0200000000100200000000010800', 'hex'), g.bytes(g.int(120))]);
    if (g.chance(0.5)) frame = mutate(g, frame);

    const r = dp.runXdp(frame);
    verdicts.set(r.retval, (verdicts.get(r.retval) ?? 0) + 1);
    if (r.retval === XdpAction.TX || r.retval === XdpAction.REDIRECT) {
      const problems = newProblems(frame, r.out);
      if (problems.length > 0 && failures++ < 5) {
        t.fail(`seed ${SEED} frame ${i}: ${problems.join(', ')}\nin:  ${frame.toString('hex')}\nout: ${r.out.toString('hex')}`);
      }
    } else {
      t.not(r.retval, XdpAction.ABORTED, `seed ${SEED} frame ${i} aborted`);
    }
  }
  t.is(failures, 0);
  t.log(Object.fromEntries([...verdicts].map(([k, v]) => [Object.keys(XdpAction)[k] ?? k, v])), dp.nonZeroStats());
  // Every path was exercised, not just the parser's rejections.
  for (const stat of ['TX_ENCAP', 'TX_SNAT', 'PASS_LOCAL', 'PASS_DECAP', 'TX_REJECT', 'TX_TOO_BIG', 'DROP_GENEVE_UNKNOWN_NODE', 'DROP_GENEVE_NOT_LOCAL_BACKEND', 'PASS_GENEVE_FOREIGN', 'DROP_TRUNCATED', 'PASS_BAD_L4'] as const) {
    t.true(dp.stat(stat) > 100n, `${stat}: ${dp.stat(stat)}`);
  }
});

test.serial('100,000 random and mutated replies through tc_revnat: every rewritten frame is well formed', (t) => {
  const dp = Datapath.open(t);
  for (let port = 40000; port < 40008; port++) {
    for (const proto of [Proto.TCP, Proto.UDP]) {
      dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: port, proto, flags: 0 }, { address: Addr.vip, port: 80 });
      dp.addLocalBackend({ address: Addr.pod, port: 8080, proto, serviceId: 1 });
    }
  }
  const g = new Gen(SEED + 1);
  let changed = 0;
  let failures = 0;
  for (let i = 0; i < FRAMES; i++) {
    let frame = podReply(g);
    if (g.chance(0.5)) frame = mutate(g, frame);
    // The kernel refuses to test-run an IPv4 skb shorter than Ethernet + IPv4 headers.
    if (frame.length < 34) continue;
    const r = dp.runTc(frame);
    t.true(r.retval === TcAction.UNSPEC || r.retval === TcAction.SHOT);
    if (r.out.equals(frame)) continue;
    changed++;
    const problems = newProblems(frame, r.out);
    if (problems.length > 0 && failures++ < 5) {
      t.fail(`seed ${SEED + 1} frame ${i}: ${problems.join(', ')}\nin:  ${frame.toString('hex')}\nout: ${r.out.toString('hex')}`);
    }
  }
  t.is(failures, 0);
  t.log({ changed }, dp.nonZeroStats());
  t.true(dp.stat('REVNAT_REWRITE') > 10_000n);
  t.true(dp.stat('MSS_CLAMPED') > 1000n);
});
