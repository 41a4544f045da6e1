/** lbctl monitor's pure parts: event records decoded, --type and --service parsed, events matched and printed. */
import test from 'ava';
import { dsrlbEvent } from '../../src/bpf/codecs/monitor.js';
import { DSRLB_GENEVE_OPT_TYPE_DSR, DSRLB_MONITOR_DROP, DSRLB_MONITOR_TRACE, dsrlb_hook, dsrlb_stat } from '../../src/bpf/consts.generated.js';
import { decodeBatch, gateFor, type MonitorEvent } from '../../src/bpf/monitor.js';
import { parseTypes } from '../../src/cli/monitor-command.js';
import { formatJson, formatText, matchesService, parseServiceArg, serviceFrontends } from '../../src/cli/monitor-format.js';
import type { Frontend } from '../../src/plan/types.js';

const tuple = (saddr: string, sport: number, daddr: string, dport: number) => ({ saddr, daddr, sport, dport, proto: 6, flags: 0 });
const record = (over: Partial<Parameters<typeof dsrlbEvent.encode>[0]> = {}): Buffer => dsrlbEvent.encode({
  tsNs: 5_000_000_123_456n, ifindex: 7, len: 120, reason: dsrlb_stat.DSRLB_STAT_DROP_TRUNCATED, type: DSRLB_MONITOR_DROP,
  hook: dsrlb_hook.DSRLB_HOOK_XDP, cpu: 1, verdict: 1, tuple: tuple('198.51.100.100', 40000, '203.0.113.10', 80),
  outerSaddr: '0.0.0.0', outerDaddr: '0.0.0.0', frontendAddress: '0.0.0.0', frontendPort: 0, optType: 0, ...over,
});
/** As ring_buffer__consume hands them over: a u32 length, then the record. */
const batch = (...records: Buffer[]): Buffer => Buffer.concat(records.flatMap((r) => {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(r.length);
  return [len, r];
}));

const encap = record({
  reason: dsrlb_stat.DSRLB_STAT_TX_ENCAP, type: DSRLB_MONITOR_TRACE, verdict: 3, cpu: 0,
  tuple: tuple('198.51.100.100', 40000, '198.18.2.5', 8080),
  outerSaddr: '198.51.100.1', outerDaddr: '198.51.100.2', frontendAddress: '203.0.113.10', frontendPort: 80, optType: DSRLB_GENEVE_OPT_TYPE_DSR,
});

test('a batch of records decodes to typed events', (t) => {
  const [drop, trace] = decodeBatch(batch(record(), encap));
  t.like(drop, { type: 'drop', reason: 'drop_truncated', hook: 'xdp', cpu: 1, ifindex: 7, outer: null, frontend: null, monotonicNs: 5_000_000_123_456n });
  t.like(trace, {
    type: 'trace', reason: 'tx_encap', verdict: 3, tuple: { saddr: '198.51.100.100', dport: 8080 },
    outer: { saddr: '198.51.100.1', daddr: '198.51.100.2' }, frontend: { address: '203.0.113.10', port: 80, option: 'dsr' },
  });
  t.deepEqual(decodeBatch(Buffer.alloc(0)), []);
});

test('--type: drop, trace, both, all; anything else is a usage error', (t) => {
  t.deepEqual(parseTypes('drop'), ['drop']);
  t.deepEqual(parseTypes('trace,drop'), ['trace', 'drop']);
  t.deepEqual(parseTypes('all'), ['drop', 'trace']);
  t.is(gateFor(parseTypes('all'), 5000, 1, 0n).types, DSRLB_MONITOR_DROP | DSRLB_MONITOR_TRACE);
  t.is(gateFor(['drop'], 5000, 1, 10n).expiresNs, 5_000_000_010n);
  t.like(t.throws(() => parseTypes('drops')), { code: 'ERR_USAGE' });
  t.like(t.throws(() => parseTypes(',')), { code: 'ERR_USAGE' });
});

test('--service: VIP:PORT[/PROTO] or namespace/name; anything else is a usage error saying what to pass', (t) => {
  t.deepEqual(parseServiceArg('203.0.113.10:80'), { frontend: { address: '203.0.113.10', port: 80, proto: null } });
  t.deepEqual(parseServiceArg('203.0.113.10:53/UDP'), { frontend: { address: '203.0.113.10', port: 53, proto: 17 } });
  t.deepEqual(parseServiceArg('shop/web'), { service: 'shop/web' });
  t.deepEqual(parseServiceArg('kube-system/kube-dns'), { service: 'kube-system/kube-dns' });
  for (const bad of ['203.0.113.300:80', '203.0.113.10:0', 'Shop/web', 'shop/web/x', 'shop/', '/web']) {
    const e = t.throws(() => parseServiceArg(bad)) as { code?: string; remedy?: string } | undefined;
    t.is(e?.code, 'ERR_USAGE', bad);
    t.regex(e?.remedy ?? '', /VIP:PORT.*namespace\/name/, bad);
  }
});

test('a Service\'s frontends are those the agent serves under its namespace/name, with their protocols', (t) => {
  const fe = (service: string, address: string, port: number, protocol: 'TCP' | 'UDP'): Frontend => ({
    service, servicePort: '', kind: 'ClusterIP', address, port, protocol, backends: [], sessionAffinityTimeoutSeconds: null,
    sourceRanges: null, trafficScope: 'Cluster', noEndpointsAction: 'reject',
  });
  const body = {
    syncedAt: null, node: null, nodes: {},
    frontends: [fe('shop/web', '10.96.0.10', 80, 'TCP'), fe('shop/db', '10.96.0.11', 5432, 'TCP'), fe('shop/web', '198.51.100.1', 30080, 'TCP'), fe('kube-system/dns', '10.96.0.53', 53, 'UDP')],
  };
  t.deepEqual(serviceFrontends(body, 'shop/web'), [{ address: '10.96.0.10', port: 80, proto: 6 }, { address: '198.51.100.1', port: 30080, proto: 6 }]);
  t.deepEqual(serviceFrontends(body, 'kube-system/dns'), [{ address: '10.96.0.53', port: 53, proto: 17 }]);
  t.deepEqual(serviceFrontends(body, 'shop/cart'), []);
});

test('an event matches a service by its frontend, its destination or source, or a local backend of it', (t) => {
  const [drop, trace] = decodeBatch(batch(record(), encap)) as [MonitorEvent, MonitorEvent];
  const vip80 = { frontends: [{ address: '203.0.113.10', port: 80, proto: 6 }], backends: [] };
  t.true(matchesService(drop, vip80), 'to the frontend');
  t.true(matchesService(trace, vip80), 'the Geneve option names it');
  t.false(matchesService(drop, { ...vip80, frontends: [{ address: '203.0.113.10', port: 443, proto: 6 }] }));
  t.false(matchesService(drop, { ...vip80, frontends: [{ address: '203.0.113.10', port: 80, proto: 17 }] }), 'another protocol');
  t.true(matchesService(drop, { ...vip80, frontends: [{ address: '198.51.100.1', port: 30080, proto: 6 }, { address: '203.0.113.10', port: 80, proto: 6 }] }), 'any of a Service\'s frontends');
  const [decap] = decodeBatch(batch(record({ reason: dsrlb_stat.DSRLB_STAT_PASS_DECAP, type: DSRLB_MONITOR_TRACE, tuple: tuple('198.51.100.100', 40000, '198.18.2.5', 8080) })));
  const withPod = { ...vip80, backends: [{ address: '198.18.2.5', port: 8080, proto: 6 }] };
  t.false(matchesService(decap as MonitorEvent, vip80));
  t.true(matchesService(decap as MonitorEvent, withPod), 'decapsulated to a local backend of it');
  const [reply] = decodeBatch(batch(record({ tuple: tuple('203.0.113.10', 80, '198.51.100.100', 40000) })));
  t.true(matchesService(reply as MonitorEvent, vip80), 'a reply from it');
});

test('one text line per event: time, CPU, type, reason, program and device, tuple, what a trace rewrote', (t) => {
  const [drop, trace] = decodeBatch(batch(record(), encap)) as [MonitorEvent, MonitorEvent];
  // Wall clock = monotonic + offset: pick the offset that puts the event at 2026-01-02T03:04:05.123456Z.
  const wall = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5, 123)) * 1_000_000n + 456_000n;
  const offset = wall - drop.monotonicNs;
  const hms = (d: Date): string => [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  const local = hms(new Date(Date.UTC(2026, 0, 2, 3, 4, 5)));
  t.is(formatText(drop, offset, 'eth0'), `${local}.123456 CPU 01 DROP  drop_truncated xdp eth0(7): 198.51.100.100:40000 -> 203.0.113.10:80 tcp, len 120`);
  t.is(formatText(trace, offset, undefined), `${local}.123456 CPU 00 TRACE tx_encap xdp ifindex 7: 198.51.100.100:40000 -> 198.18.2.5:8080 tcp, `
    + 'frontend 203.0.113.10:80 (dsr), geneve 198.51.100.1 -> 198.51.100.2, len 120');
  const json = JSON.parse(formatJson(trace, offset, 'eth0')) as Record<string, unknown>;
  t.like(json, {
    time: '2026-01-02T03:04:05.123Z', timeMicros: 123456, monotonicNs: '5000000123456', cpu: 0, type: 'trace', reason: 'tx_encap',
    hook: 'xdp', ifindex: 7, device: 'eth0', len: 120, verdict: 3,
    tuple: { saddr: '198.51.100.100', daddr: '198.18.2.5', sport: 40000, dport: 8080, proto: 6, protocol: 'tcp' },
    outer: { saddr: '198.51.100.1', daddr: '198.51.100.2' }, frontend: { address: '203.0.113.10', port: 80, option: 'dsr' },
  });
});
