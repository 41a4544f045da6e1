/**
 * tc egress beside other programs (issue 10): tc_revnat, attached where the
 * agent attaches it, hands every packet on to the filters after it on the
 * same clsact hook (TC_ACT_UNSPEC), rewritten or not; and it rewrites only a
 * reply whose source is a local backend. The later filter is a real BPF
 * program at a later pref that records the source it sees and drops.
 */
import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BpfObjectFile, BpfObjects, DSRLB_LOCAL_ANY, dsrlb_stat, ifindex, projectRoot, tcAttachment } from '../../src/bpf/index.js';
import { counter, u32Key } from '../../src/bpf/codecs/scalars.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { TC_HANDLE, TC_PRIORITY } from '../../src/agent/datapath-loader.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { inNetns, sh, vethIntoNetns } from '../helpers/netns.js';
import { requireRoot } from '../helpers/root.js';
import { waitFor } from '../helpers/wait.js';

const HOST = '100.64.210.0';
const PEER = '100.64.210.1';
const VIP = '203.0.113.10';
const SPORT = 5000;
const DPORT = 6000;
const UDP = 17;
/** Where the kernel puts auto-numbered filters: well after dsrlb's. */
const LATER_PREF = 49152;

/** Compiles the test's stand-in program (test/fixtures/bpf/tc_after.c) into a temporary directory. */
function buildTcAfter(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-tc-after-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'tc_after.o');
  const multiarch = `${arch() === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', '-I', `/usr/include/${multiarch}`,
    '-c', join(projectRoot, 'test', 'fixtures', 'bpf', 'tc_after.c'), '-o', out]);
  return out;
}

function ipv4OfWord(v: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return [...b.subarray(0, 4)].join('.');
}

function setup(t: ExecutionContext) {
  requireRoot(t);
  const { ns, hostIf, nsIf } = vethIntoNetns(t);
  sh('ip', ['addr', 'add', `${HOST}/31`, 'dev', hostIf]);
  inNetns(ns, 'ip', ['addr', 'add', `${PEER}/31`, 'dev', nsIf]);
  const [peer] = JSON.parse(inNetns(ns, 'ip', ['-j', 'link', 'show', nsIf])) as { address: string }[];
  // No ARP on the hook: only the test's datagrams leave.
  sh('ip', ['neigh', 'replace', PEER, 'lladdr', peer?.address ?? '', 'dev', hostIf, 'nud', 'permanent']);
  const idx = ifindex(hostIf);

  const dsrlb = BpfObjectFile.load(BpfObjects.tcRevnat, { pinRoot: tempPinRoot(t) });
  const after = BpfObjectFile.load(buildTcAfter(t));
  t.teardown(() => { dsrlb.close(); after.close(); });
  dsrlb.program('tc_revnat').attachTc(idx, 'egress', TC_HANDLE, TC_PRIORITY);
  after.program('tc_after').attachTc(idx, 'egress', 1, LATER_PREF);

  const seen = after.map('seen', u32Key, counter);
  const stats = mapOf(dsrlb, MapSpecs.stats);
  const stat = (i: number): bigint => (stats.lookupPerCpu(i) ?? []).reduce((a, b) => a + b, 0n);
  const send = async (): Promise<void> => {
    const before = seen.lookup(0) ?? 0n;
    const sock = createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(SPORT, HOST, resolve));
    await new Promise<void>((resolve, reject) => sock.send('reply', DPORT, PEER, (e) => (e ? reject(e) : resolve())));
    sock.close();
    await waitFor(() => (seen.lookup(0) ?? 0n) > before, 5_000, () => 'the later filter never saw the datagram');
  };
  return {
    idx, dsrlb, after, send, stat,
    lastSource: (): string => ipv4OfWord(seen.lookup(1) ?? 0n),
    reverseNat: (): void => mapOf(dsrlb, MapSpecs.dsrRevnat).update(
      { saddr: HOST, daddr: PEER, sport: SPORT, dport: DPORT, proto: UDP, flags: 0 }, { address: VIP, port: 80 }),
    localBackend: (): void => mapOf(dsrlb, MapSpecs.localBackends).update(
      { address: HOST, port: SPORT, proto: UDP, serviceId: DSRLB_LOCAL_ANY }, 1),
  };
}

test.serial('a filter after dsrlb\'s on the same egress hook still runs for packets dsrlb leaves alone', async (t) => {
  const env = setup(t);
  t.is(tcAttachment(env.idx, 'egress', TC_HANDLE, TC_PRIORITY), env.dsrlb.program('tc_revnat').id, 'dsrlb\'s filter stays in its slot');
  t.is(tcAttachment(env.idx, 'egress', 1, LATER_PREF), env.after.program('tc_after').id);

  await env.send();
  t.is(env.lastSource(), HOST);
  t.is(env.stat(dsrlb_stat.DSRLB_STAT_REVNAT_REWRITE), 0n);
});

test.serial('a reply dsrlb rewrote continues to the later filter, which sees the frontend as its source', async (t) => {
  const env = setup(t);
  env.reverseNat();
  env.localBackend();

  await env.send();
  t.is(env.lastSource(), VIP);
  t.is(env.stat(dsrlb_stat.DSRLB_STAT_REVNAT_REWRITE), 1n);
});

test.serial('a socket that is no local backend is not rewritten, even when a reverse-NAT entry matches it', async (t) => {
  const env = setup(t);
  env.reverseNat();

  await env.send();
  t.is(env.lastSource(), HOST);
  t.is(env.stat(dsrlb_stat.DSRLB_STAT_REVNAT_REWRITE), 0n);
  t.is(env.stat(dsrlb_stat.DSRLB_STAT_PASS_REVNAT_NOT_LOCAL), 1n);
});
