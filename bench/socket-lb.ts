/**
 * Socket LB against the alternatives (issue 11, Benchmark): one client
 * process, in its own network namespace, against 10 pods in theirs, with
 * 10,000 ClusterIP services x 10 endpoints programmed. Cases, in one run,
 * interleaved round by round:
 * - direct: to the pods' addresses in turn, no socket LB above the client;
 * - directInCgroup: the same from a client under the socket LB (what its
 *   hooks cost a connect to something that is no service);
 * - socketLb: to the ClusterIP, translated by the socket LB;
 * - nftables: to the ClusterIP, DNATed by a rule set shaped like
 *   kube-proxy's nftables mode for the same 10,000 x 10 (bench/lib), in the
 *   client's namespace (nat output, as for a node's own process).
 * TCP: connections per second, each connect + the first byte the server
 * sends + close, one at a time, spread over the 10 pods (direct: in turn).
 * UDP: request/response exchanges per second through one unconnected socket
 * (sendto each time) to a UDP ClusterIP with one endpoint, so that every
 * case talks to the same pod: conntrack keeps nftables' whole exchange on
 * one backend while the socket LB picks one per datagram, and which pods
 * answer (how many processes wake) would otherwise weigh more than the path.
 * After a discarded warm-up, each round runs every case once, starting with
 * a different case each round. The rate of each case is the median over
 * rounds; ratios are per round, then the median. Prints one JSON object. Needs root.
 * Usage: npx tsx bench/socket-lb.ts
 * Environment: DSRLB_BENCH_ROUNDS (5), DSRLB_BENCH_SECONDS (2 per case and round).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { attachSocketLb } from '../src/agent/socket-lb.js';
import type { RateResult, SocketOp } from '../src/lab/socket-client.js';
import type { Backend, Frontend } from '../src/plan/types.js';
import { Reconciler } from '../src/reconcile/index.js';
import { tempPinRoot } from '../test/helpers/bpffs.js';
import type { Cleanup } from '../test/helpers/datapath.js';
import { inNetns } from '../test/helpers/netns.js';
import { podNetwork, type PodNetwork } from '../test/helpers/pod-network.js';
import { kubeProxyRuleset, type NftService } from './lib/kube-proxy-nft.js';
import { round } from './lib/stats.js';

const ROUNDS = Number(process.env['DSRLB_BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['DSRLB_BENCH_SECONDS'] ?? 2);
const SERVICES = 10_000;
const ENDPOINTS = 10;
const POD_PORT = 8080;
/** The measured service: index MEASURED of the 10,000, its endpoints the real pods. */
const MEASURED = 10;
const CLUSTER_IP = clusterIp(MEASURED);
const TCP_PORT = 80;
const UDP_PORT = 53;
const PODS = Array.from({ length: ENDPOINTS }, (_, i) => `198.18.0.${10 + i}`);
/** The UDP ClusterIP's one endpoint. */
const UDP_PODS = PODS.slice(0, 1);
const NODE = { name: 'node-a', address: '198.51.100.1' };

/** By path: under npx, `nft` on PATH is node_modules/.bin/nft (an npm package of that name). */
function nftBinary(): string {
  const found = ['/usr/sbin/nft', '/sbin/nft', '/usr/bin/nft'].find((p) => existsSync(p));
  if (!found) throw new Error('nft is not installed: run make deps (Debian package nftables)');
  return found;
}

function clusterIp(i: number): string {
  return `10.96.${i >> 8}.${i & 255}`;
}

/** Endpoints of service i: the real pods for the measured one, addresses nobody holds for the rest. */
function endpoints(i: number): string[] {
  if (i === MEASURED) return PODS;
  return Array.from({ length: ENDPOINTS }, (_, j) => {
    const n = i * ENDPOINTS + j;
    return `198.19.${(n >> 8) & 255}.${n & 255}`;
  });
}

function frontend(i: number, protocol: 'TCP' | 'UDP'): Frontend {
  const backends: Backend[] = (protocol === 'UDP' ? UDP_PODS : endpoints(i)).map((address) => ({ address, port: POD_PORT, nodeName: NODE.name, terminating: false }));
  return {
    service: `bench/svc-${i}`, servicePort: protocol.toLowerCase(), kind: 'ClusterIP', address: clusterIp(i),
    port: protocol === 'TCP' ? TCP_PORT : UDP_PORT, protocol, backends,
    sessionAffinityTimeoutSeconds: null, sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: null,
  };
}

function nftServices(): NftService[] {
  const out: NftService[] = Array.from({ length: SERVICES }, (_, i) => ({
    clusterIP: clusterIp(i), port: TCP_PORT, protocol: 'tcp', endpoints: endpoints(i).map((address) => ({ address, port: POD_PORT })),
  }));
  out.push({ clusterIP: CLUSTER_IP, port: UDP_PORT, protocol: 'udp', endpoints: UDP_PODS.map((address) => ({ address, port: POD_PORT })) });
  return out;
}

/** `toService`: to the ClusterIP's port, else to the pods' addresses in turn, on their port. */
interface Case { readonly name: string; readonly pod: string; readonly inCgroup: boolean; readonly toService: boolean }

const TCP_CASES: readonly Case[] = [
  { name: 'direct', pod: 'cdirect', inCgroup: false, toService: false },
  { name: 'directInCgroup', pod: 'csock', inCgroup: true, toService: false },
  { name: 'socketLb', pod: 'csock', inCgroup: true, toService: true },
  { name: 'nftables', pod: 'cnft', inCgroup: false, toService: true },
];
const UDP_CASES: readonly Case[] = TCP_CASES.filter((c) => c.name !== 'directInCgroup');

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function measure(net: PodNetwork, cases: readonly Case[], op: 'tcp-rate' | 'udp-rate', servicePort: number, pods: string[]): Promise<Record<string, number[]>> {
  const rates: Record<string, number[]> = Object.fromEntries(cases.map((c) => [c.name, []]));
  const run = async (c: Case, seconds: number): Promise<number> => {
    const o: SocketOp = { op, hosts: c.toService ? [CLUSTER_IP] : pods, port: c.toService ? servicePort : POD_PORT, seconds };
    const res = await net.run<RateResult>(c.pod, o, { inCgroup: c.inCgroup, timeoutMs: (seconds + 30) * 1000 });
    if (res.errors > 0 || res.operations === 0) throw new Error(`${op} ${c.name}: ${res.errors} errors in ${res.operations + res.errors}`);
    return res.perSecond;
  };
  // Warm-up, discarded: the first runs after setup (110,000 chains just committed) are slower whatever the case.
  for (const c of cases) await run(c, 1);
  for (let r = 0; r < ROUNDS; r++) {
    // Each round starts with another case, so no case always follows the same one.
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(r + k) % cases.length] as Case;
      rates[c.name]?.push(await run(c, SECONDS));
    }
  }
  return rates;
}

function summary(rates: Record<string, number[]>): { perSecond: Record<string, number>; perRound: Record<string, number[]>; ratios: Record<string, number> } {
  const perRound = (a: string, b: string): number => median((rates[a] ?? []).map((x, i) => x / (rates[b]?.[i] ?? NaN)));
  const ratios: Record<string, number> = {
    socketLbVsDirect: round(perRound('socketLb', 'direct')),
    nftablesVsDirect: round(perRound('nftables', 'direct')),
    socketLbVsNftables: round(perRound('socketLb', 'nftables')),
  };
  if (rates['directInCgroup']) ratios['directInCgroupVsDirect'] = round(perRound('directInCgroup', 'direct'));
  return {
    perSecond: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, Math.round(median(v))])),
    // The spread between rounds (a shared machine) is part of the result.
    perRound: Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, v.map((x) => Math.round(x))])),
    ratios,
  };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench/socket-lb: needs root (bpffs, cgroup2, network namespaces, nft)\n');
    process.exit(1);
  }
  const steps: (() => void)[] = [];
  const cleanup: Cleanup = { teardown: (step) => { steps.push(step); } };
  try {
    const pods = Object.fromEntries(PODS.map((a, i) => [`b${i}`, a]));
    const net = podNetwork(cleanup, { ...pods, csock: '198.18.0.31', cdirect: '198.18.0.32', cnft: '198.18.0.33' });
    await Promise.all(Object.keys(pods).map((p) => net.serveBytes(p, POD_PORT)));
    for (const c of ['csock', 'cdirect', 'cnft']) {
      const ns = net.pod(c).ns;
      inNetns(ns, 'sysctl', ['-qw', 'net.ipv4.ip_local_port_range=1024 65000', 'net.ipv4.tcp_tw_reuse=1']);
    }
    // nftables NATs after the route lookup: the ClusterIP needs a route.
    inNetns(net.pod('cnft').ns, 'ip', ['route', 'add', 'default', 'dev', 'eth0']);

    const root = tempPinRoot(cleanup);
    attachSocketLb(root, net.cgroup);
    const reconciler = Reconciler.open({ bpffsRoot: root });
    cleanup.teardown(() => reconciler.close());
    const frontends = [...Array.from({ length: SERVICES }, (_, i) => frontend(i, 'TCP')), frontend(MEASURED, 'UDP')];
    reconciler.sync({ plan: { frontends, healthCheckNodePorts: [] }, localNode: NODE, nodeAddresses: new Map([[NODE.name, NODE.address]]) });

    const t0 = Date.now();
    const nft = nftBinary();
    const dir = mkdtempSync(join(tmpdir(), 'dsrlb-bench-nft-'));
    cleanup.teardown(() => rmSync(dir, { recursive: true, force: true }));
    kubeProxyRuleset(nftServices()).forEach((text, i) => {
      const file = join(dir, `${i}.nft`);
      writeFileSync(file, text);
      inNetns(net.pod('cnft').ns, nft, ['-f', file]);
    });
    const nftLoadSeconds = (Date.now() - t0) / 1000;

    const tcp = summary(await measure(net, TCP_CASES, 'tcp-rate', TCP_PORT, PODS));
    const udp = summary(await measure(net, UDP_CASES, 'udp-rate', UDP_PORT, UDP_PODS));
    const result = {
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown', cpus: cpus().length, memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
        kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), node: process.version,
      },
      method: {
        services: SERVICES, endpointsPerService: ENDPOINTS, rounds: ROUNDS, secondsPerCase: SECONDS,
        nftChains: nftServices().reduce((n, s) => n + 1 + s.endpoints.length, 0), nftLoadSeconds: round(nftLoadSeconds, 1),
      },
      tcpConnectionsPerSecond: tcp.perSecond,
      tcpPerRound: tcp.perRound,
      tcpRatios: tcp.ratios,
      udpExchangesPerSecond: udp.perSecond,
      udpPerRound: udp.perRound,
      udpRatios: udp.ratios,
      targets: { socketLbWithin5PercentOfDirect: tcp.ratios['socketLbVsDirect'] !== undefined && tcp.ratios['socketLbVsDirect'] >= 0.95,
        socketLbAheadOfNftables: (tcp.ratios['socketLbVsNftables'] ?? 0) > 1 },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const step of steps.reverse()) {
      try { step(); } catch { /* best effort */ }
    }
  }
}

await main();
