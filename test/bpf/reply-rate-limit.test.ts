/**
 * Replies the datapath generates itself (RST and ICMP port unreachable for a
 * frontend without endpoints, ICMP fragmentation needed) come out of a token
 * bucket per CPU (config reply_rate / reply_burst): a flood with spoofed
 * sources gets at most the burst (plus what the rate refills meanwhile) per
 * CPU; every suppressed reply is a counted drop.
 */
import test from 'ava';
import { dsrlb_stat } from '../../src/bpf/index.js';
import { Addr, clientTcp, clientUdp, Datapath, NodeId, Proto, SvcFlag, XdpAction } from '../helpers/datapath.js';

const FLOOD = 120;

/** Sends `frames` (one run each); returns how many were answered and the per-CPU counts of `answered`. */
function flood(dp: Datapath, frames: Buffer[], answered: keyof typeof dsrlb_stat) {
  const started = process.hrtime.bigint();
  let tx = 0;
  for (const f of frames) if (dp.runXdp(f).retval === XdpAction.TX) tx++;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const perCpu = (dp.maps.stats.lookupPerCpu(dsrlb_stat[answered]) ?? []).map(Number);
  return { tx, perCpu, seconds };
}

/** SYNs from `n` spoofed sources. */
function spoofedSyns(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => clientTcp({ flags: { syn: true }, sport: 10000 + i }, { src: `192.0.2.${(i % 250) + 1}` }));
}

test('a spoofed SYN flood to a rejecting service without endpoints gets at most the burst of RSTs per CPU', (t) => {
  const dp = Datapath.open(t);
  const rate = 1;
  const burst = 5;
  dp.setConfig({ replyRate: rate, replyBurst: burst });
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT });

  const r = flood(dp, spoofedSyns(FLOOD), 'DSRLB_STAT_TX_REJECT');

  const allowance = burst + Math.floor(r.seconds * rate);
  t.true(r.tx >= burst, `${r.tx} RSTs: the first ${burst} are answered`);
  for (const n of r.perCpu) t.true(n <= allowance, `one CPU sent ${n} RSTs (allowed ${allowance})`);
  t.is(r.perCpu.reduce((a, b) => a + b, 0), r.tx);
  t.is(dp.stat('DROP_REPLY_LIMITED'), BigInt(FLOOD - r.tx));
  t.is(dp.stat('SERVICE_HIT'), BigInt(FLOOD));
});

test('a rate of 0 sends no ICMP port unreachable at all: every one is a counted drop', (t) => {
  const dp = Datapath.open(t);
  dp.setConfig({ replyRate: 0 });
  dp.setService({ serviceId: 1, backends: [], backendCount: 0, flags: SvcFlag.NOEP_REJECT, proto: Proto.UDP, port: 53 });

  for (let i = 0; i < 10; i++) t.is(dp.runXdp(clientUdp({ sport: 20000 + i })).retval, XdpAction.DROP);
  t.deepEqual(dp.nonZeroStats(), { SERVICE_HIT: 10, DROP_REPLY_LIMITED: 10 });
});

test('fragmentation-needed replies share the budget', (t) => {
  const dp = Datapath.open(t, { mtu: 1500 });
  const rate = 1;
  const burst = 2;
  dp.setConfig({ replyRate: rate, replyBurst: burst });
  dp.addBackend({ id: 11, address: Addr.pod, port: 8080, nodeId: NodeId.backend });
  dp.setService({ serviceId: 1, backends: [11] });
  const tooBig = Array.from({ length: 20 }, (_, i) => clientTcp({ flags: { ack: true }, sport: 30000 + i, payload: Buffer.alloc(1460, 0x61) }));

  const r = flood(dp, tooBig, 'DSRLB_STAT_TX_TOO_BIG');

  const allowance = burst + Math.floor(r.seconds * rate);
  t.true(r.tx >= burst);
  for (const n of r.perCpu) t.true(n <= allowance, `one CPU sent ${n} (allowed ${allowance})`);
  t.is(dp.stat('DROP_REPLY_LIMITED'), BigInt(20 - r.tx));
});
