/**
 * 100,000 random and mutated frames through each program. Whatever a
 * program transmits (XDP_TX / XDP_REDIRECT, or any frame tc egress changed)
 * must decode cleanly with correct checksums, the quote of an ICMP error
 * included; the only problems allowed are ones the input already had (a bad
 * client checksum stays bad, never gets worse). ICMP errors quoting random
 * tuples are among them: one is only ever changed when its quote belongs to
 * a flow (a frontend's reply, an SNAT or reverse-NAT entry). The generator
 * is seeded: a failure names the seed to replay it.
 */
import test from 'ava';
import {
  buildFrame, buildGeneveFrame, buildIcmpError, decodeFrame, decodeIcmpQuote, dsrOption, frameProblems, mssOption, type GeneveOption,
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

const ICMP_TYPES = [3, 11, 12] as const;

/** An ICMP error about a random packet from `src` to `dst`, sent to `src` by `reporter`. */
function icmpError(g: Gen, src: string, sport: number, dst: string, dport: number, reporter: string, eth: { src: string; dst: string }): Buffer {
  const proto = g.chance(0.5) ? Proto.TCP : Proto.UDP;
  const ip = { src, dst, ...ipExtras(g) };
  const payload = g.bytes(g.int(100));
  const about = proto === Proto.UDP
    ? buildFrame({ ip, udp: { sport, dport, payload, ...(g.chance(0.2) ? { checksum: 'none' as const } : {}) } })
    : buildFrame({ ip, tcp: { sport, dport, seq: g.int(2 ** 32), flags: { ack: true }, options: tcpOptions(g), payload } });
  return buildIcmpError({
    eth, ip: { src: reporter, dst: src, id: g.int(65536), ttl: 1 + g.int(255) },
    type: g.chance(0.9) ? g.pick(ICMP_TYPES) : g.int(256), code: g.int(16), mtu: g.int(65536), about,
    l4Bytes: g.pick([4, 8, 16, 18, 20, 28, 200]),
  });
}

/** Towards the LB node: about a reply from a frontend (or not) or, SNAT mode, about what a pod got from this node. */
function icmpErrorIn(g: Gen): Buffer {
  const eth = { src: Mac.router, dst: Mac.nic };
  const port = (): number => (g.chance(0.5) ? g.pick([...FRONTEND_PORTS, 53]) : g.int(65536));
  if (g.chance(0.2)) {
    return icmpError(g, Addr.lbNode, 61000 + g.int(4536), g.pick([Addr.pod, Addr.pod2]), g.pick([8080, 5353, g.int(65536)]), Addr.pod, eth);
  }
  const src = g.chance(0.8) ? g.pick([Addr.vip, '203.0.113.11']) : `203.0.${g.int(256)}.${g.int(256)}`;
  return icmpError(g, src, port(), g.chance(0.8) ? Addr.client : `198.51.${g.int(256)}.${g.int(256)}`, 40000 + g.int(8), g.pick([Addr.client, '198.51.100.254']), eth);
}

/** Leaving a node: a pod's error about a packet it got (from a client of a flow, or not). */
function icmpErrorOut(g: Gen): Buffer {
  const client = g.chance(0.9) ? Addr.client : `198.51.${g.int(256)}.${g.int(256)}`;
  const pod = g.chance(0.9) ? Addr.pod : Addr.pod2;
  return icmpError(g, client, g.chance(0.8) ? 40000 + g.int(8) : g.int(65536), pod, g.chance(0.8) ? 8080 : g.int(65536), pod, { src: Mac.nic, dst: Mac.router });
}

/** The quote of an ICMP error frame (undefined for any other frame, or one whose quote does not decode). */
function quoteOfError(frame: Buffer): ReturnType<typeof decodeIcmpQuote> | undefined {
  try {
    const icmp = decodeFrame(frame).icmp;
    return icmp && ICMP_TYPES.some((x) => x === icmp.type) ? decodeIcmpQuote(icmp.payload) : undefined;
  } catch {
    return undefined;
  }
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

/** An ICMP error whose quote belongs to a flow here: a frontend's reply, or an SNAT reply entry's packet. */
function isFlowError(dp: Datapath, frame: Buffer): boolean {
  const q = quoteOfError(frame);
  if (!q) return false;
  const proto = q.ip.protocol;
  return dp.maps.services.lookup({ address: q.ip.src, port: q.sport, proto }) !== undefined
    || [dp.maps.snat, dp.maps.snatNew].some((m) => m.lookup({ saddr: q.ip.dst, daddr: q.ip.src, sport: q.dport, dport: q.sport, proto, flags: 1 }) !== undefined);
}

/** Problems of `out` the input did not already have (directly or as the inner frame). */
function newProblems(input: Buffer, out: Buffer): string[] {
  // An error the program sends quotes the input: its header problems become the quote's.
  const inherited = new Set(frameProblems(input).flatMap((p) => [p, `inner ${p}`, `quoted ${p}`, `inner quoted ${p}`]));
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
    const kind = g.int(12);
    let frame: Buffer;
    if (kind >= 10) frame = icmpErrorIn(g);
    else if (kind < 5) frame = clientFrame(g);
    else if (kind < 7) frame = geneveFrame(g);
    else if (kind < 8) frame = snatReply(g);
    else if (kind < 9) frame = buildFrame({ eth: { dst: Mac.nic }, ip: { src: Addr.client, dst: Addr.vip, protocol: g.int(256) }, raw: g.bytes(g.int(100)) });
    else frame = Buffer.concat([Buffer.from('0200000000100200000000010800', 'hex'), g.bytes(g.int(120))]);
    if (g.chance(0.5)) frame = mutate(g, frame);

    const r = dp.runXdp(frame);
    verdicts.set(r.retval, (verdicts.get(r.retval) ?? 0) + 1);
    if (frame[23] === 1 && !r.out.equals(frame) && !isFlowError(dp, frame) && failures++ < 5) {
      t.fail(`seed ${SEED} frame ${i}: an ICMP error quoting no flow was changed\nin:  ${frame.toString('hex')}\nout: ${r.out.toString('hex')}`);
    }
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
  for (const stat of ['TX_ENCAP', 'TX_SNAT', 'PASS_LOCAL', 'PASS_DECAP', 'TX_REJECT', 'TX_TOO_BIG', 'DROP_GENEVE_UNKNOWN_NODE', 'DROP_GENEVE_NOT_LOCAL_BACKEND', 'PASS_GENEVE_FOREIGN', 'DROP_TRUNCATED', 'PASS_BAD_L4',
    'ICMP_TO_BACKEND', 'DROP_ICMP_NO_BACKEND'] as const) {
    t.true(dp.stat(stat) > 100n, `${stat}: ${dp.stat(stat)}`);
  }
  // A pod's error in SNAT mode needs a live SNAT port: rarer.
  t.true(dp.stat('ICMP_TO_CLIENT') > 20n, `ICMP_TO_CLIENT: ${dp.stat('ICMP_TO_CLIENT')}`);
});

test.serial('100,000 random and mutated replies through tc_revnat: every rewritten frame is well formed', (t) => {
  const dp = Datapath.open(t);
  // A pod's RST or FIN takes its flow's entry out of the established table: they are put back now and then.
  const arm = (): void => {
    for (let port = 40000; port < 40008; port++) {
      for (const proto of [Proto.TCP, Proto.UDP]) {
        dp.maps.dsrRevnat.update({ saddr: Addr.pod, daddr: Addr.client, sport: 8080, dport: port, proto, flags: 0 }, { address: Addr.vip, port: 80 });
      }
    }
  };
  arm();
  for (const proto of [Proto.TCP, Proto.UDP]) dp.addLocalBackend({ address: Addr.pod, port: 8080, proto, serviceId: 1 });
  const g = new Gen(SEED + 1);
  let changed = 0;
  let failures = 0;
  for (let i = 0; i < FRAMES; i++) {
    if (i % 16 === 0) arm();
    let frame = g.chance(0.2) ? icmpErrorOut(g) : podReply(g);
    if (g.chance(0.5)) frame = mutate(g, frame);
    // The kernel refuses to test-run an IPv4 skb shorter than Ethernet + IPv4 headers.
    if (frame.length < 34) continue;
    const r = dp.runTc(frame);
    t.true(r.retval === TcAction.UNSPEC || r.retval === TcAction.SHOT);
    if (r.out.equals(frame)) continue;
    changed++;
    const q = quoteOfError(frame);
    const quoted = q && { saddr: q.ip.dst, daddr: q.ip.src, sport: q.dport, dport: q.sport, proto: q.ip.protocol, flags: 0 };
    // A pod's RST or FIN moves its flow's entry (bpf/lib/revnat.h): either table counts.
    if (frame[23] === 1 && !(quoted && (dp.maps.dsrRevnat.lookup(quoted) || dp.maps.dsrRevnatNew.lookup(quoted))) && failures++ < 5) {
      t.fail(`seed ${SEED + 1} frame ${i}: an ICMP error quoting no reverse-NAT flow was changed\nin:  ${frame.toString('hex')}`);
    }
    const problems = newProblems(frame, r.out);
    if (problems.length > 0 && failures++ < 5) {
      t.fail(`seed ${SEED + 1} frame ${i}: ${problems.join(', ')}\nin:  ${frame.toString('hex')}\nout: ${r.out.toString('hex')}`);
    }
  }
  t.is(failures, 0);
  t.log({ changed }, dp.nonZeroStats());
  t.true(dp.stat('REVNAT_REWRITE') > 10_000n);
  t.true(dp.stat('MSS_CLAMPED') > 1000n);
  t.true(dp.stat('ICMP_TO_CLIENT') > 1000n, `ICMP_TO_CLIENT: ${dp.stat('ICMP_TO_CLIENT')}`);
});
