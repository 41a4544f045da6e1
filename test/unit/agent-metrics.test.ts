/**
 * The agent's /metrics, checked without a kernel: every name follows the
 * Prometheus conventions (one `dsrlb_` prefix, `_total` on counters only,
 * base units), every label value known in advance is there at zero, every
 * datapath counter lands in exactly one series, and the Prometheus counters
 * follow the kernel's by deltas (also across a reset).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { dsrlb_stat } from '../../src/bpf/consts.generated.js';
import { projectRoot } from '../../src/bpf/native.js';
import { classify, COUNTER_NAMES, EGRESS_DROP_REASONS } from '../../src/agent/datapath-counters.js';
import { AgentMetrics, type DatapathReadings } from '../../src/agent/metrics.js';

interface Sample { readonly name: string; readonly labels: Record<string, string>; readonly value: number }
interface Family { readonly name: string; readonly type: string; readonly samples: Sample[] }

/** The text exposition format, as Prometheus reads it (enough of it for these checks). */
function parse(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = { name: type[1] ?? '', type: type[2] ?? '', samples: [] };
      families.set(current.name, current);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || !current) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1] ?? '', l[2] ?? '']));
    current.samples.push({ name: m[1] ?? '', labels, value: Number(m[3]) });
  }
  return families;
}

function metrics(readings: () => DatapathReadings | undefined = () => undefined): AgentMetrics {
  return new AgentMetrics({
    build: { version: '0.1.0', libbpf: 'v1.1', nodejs: 'v20.0.0', layout: 'abc123' },
    sourceErrorLabels: [{ resource: 'services', kind: 'list' }, { resource: 'consumer', kind: 'handler' }],
    datapath: readings,
    agent: () => ({ programmed: { services: 3, frontends: 7 }, sourceConnected: true, lastSyncedAt: 1_700_000_000_000 }),
  });
}

const reading = (counters: Record<string, number>): DatapathReadings => ({
  frontends: 7, backends: 4, flows: 2, fill: { lb4_services: 7 / 65536, lb4_flows: 2 / 32768 }, counters,
});

test('every metric is named the Prometheus way: one dsrlb_ prefix, _total on counters only, no doubled words', async (t) => {
  const families = parse(await metrics(() => reading({})).registry.metrics());
  t.true(families.size > 20);
  for (const f of families.values()) {
    t.regex(f.name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/, f.name);
    const words = f.name.split('_');
    t.false(words.some((w, i) => i > 0 && w === words[i - 1]), `${f.name}: a word twice in a row`);
    if (f.name.startsWith('dsrlb_')) t.false(f.name.startsWith('dsrlb_dsrlb') || f.name.startsWith('dsrlb_process_') || f.name.startsWith('dsrlb_nodejs_'), f.name);
    else t.regex(f.name, /^(process|nodejs)_/, `${f.name}: only the standard process and Node.js metrics go without the dsrlb_ prefix`);
    if (f.type === 'counter') t.regex(f.name, /_total$/, `${f.name}: a counter ends in _total`);
    // prom-client's own gauge nodejs_active_resources_total is not ours to rename.
    else if (f.name.startsWith('dsrlb_')) t.notRegex(f.name, /_total$/, `${f.name}: only counters end in _total`);
    if (f.type === 'histogram') t.regex(f.name, /_(seconds|bytes)$/, `${f.name}: a histogram in base units`);
    for (const s of f.samples) for (const l of Object.keys(s.labels)) t.regex(l, /^[a-zA-Z_][a-zA-Z0-9_]*$/, `${f.name}{${l}}`);
  }
  t.truthy(families.get('process_cpu_seconds_total'), 'the standard name, not dsrlb_process_process_cpu_seconds_total');
  t.deepEqual(families.get('dsrlb_build_info')?.samples, [{ name: 'dsrlb_build_info', labels: { version: '0.1.0', libbpf: 'v1.1', nodejs: 'v20.0.0', layout: 'abc123' }, value: 1 }]);
  t.is(families.get('dsrlb_services')?.samples[0]?.value, 3);
  t.is(families.get('dsrlb_frontends')?.samples[0]?.value, 7);
  t.is(families.get('dsrlb_source_connected')?.samples[0]?.value, 1);
  t.is(families.get('dsrlb_last_sync_timestamp_seconds')?.samples[0]?.value, 1_700_000_000);
  t.deepEqual(families.get('dsrlb_map_fill_ratio')?.samples.map((s) => s.labels['map']), ['lb4_services', 'lb4_flows']);
  t.is(families.get('dsrlb_sync_duration_seconds')?.type, 'histogram');
});

test('every label value known in advance is exported at zero before anything happens', async (t) => {
  const families = parse(await metrics().registry.metrics());
  const series = (name: string): Sample[] => families.get(name)?.samples ?? [];
  const drops = series('dsrlb_drop_count_total');
  const dropReasons = Object.keys(dsrlb_stat).filter((n) => n.startsWith('DSRLB_STAT_DROP_')).map((n) => n.slice('DSRLB_STAT_DROP_'.length).toLowerCase());
  t.deepEqual(drops.map((s) => s.labels['reason']).sort(), dropReasons.sort(), 'every drop reason of dsrlb.h');
  t.true(drops.every((s) => s.value === 0));
  t.deepEqual(drops.find((s) => s.labels['reason'] === 'frag_short')?.labels, { reason: 'frag_short', direction: 'egress' });
  t.deepEqual(drops.find((s) => s.labels['reason'] === 'no_backend')?.labels, { reason: 'no_backend', direction: 'ingress' });
  const paths = ['decap', 'dsr_encap', 'icmp_to_backend', 'icmp_to_client', 'local', 'reply_rewrite', 'reply_rewrite_fragment', 'rescue', 'snat', 'snat_reply'];
  t.deepEqual(series('dsrlb_forward_count_total').map((s) => s.labels['path']).sort(), paths);
  t.deepEqual(series('dsrlb_forward_bytes_total').map((s) => [s.labels['path'], s.value]).sort(), paths.map((p) => [p, 0]), 'bytes: every path, at zero');
  t.is(families.get('dsrlb_forward_bytes_total')?.type, 'counter');
  // Every datapath counter is exactly one series, at zero.
  const datapath = ['dsrlb_drop_count_total', 'dsrlb_forward_count_total', 'dsrlb_pass_count_total', 'dsrlb_socket_lb_operations_total', 'dsrlb_datapath_events_total'];
  t.is(datapath.reduce((n, name) => n + series(name).length, 0), COUNTER_NAMES.length);
  t.true(datapath.every((name) => series(name).every((s) => s.value === 0)));
  t.deepEqual(series('dsrlb_source_errors_total').map((s) => [s.labels['resource'], s.labels['kind'], s.value]), [['services', 'list', 0], ['consumer', 'handler', 0]]);
  t.deepEqual(series('dsrlb_resyncs_total').map((s) => [s.labels['outcome'], s.value]), [['ok', 0], ['failed', 0]]);
  t.true(series('dsrlb_resync_repairs_total').some((s) => s.labels['map'] === 'lb4_services' && s.value === 0));
  t.deepEqual(series('dsrlb_sync_errors_total').map((s) => s.value), [0]);
});

test('the Prometheus counters follow the kernel\'s by deltas, and keep growing when the kernel\'s start again', async (t) => {
  let counters: Record<string, number> = { drop_no_backend: 5, tx_encap: 100 };
  const m = metrics(() => reading(counters));
  const value = async (name: string, label: string, v: string): Promise<number | undefined> =>
    parse(await m.registry.metrics()).get(name)?.samples.find((s) => s.labels[label] === v)?.value;
  t.is(await value('dsrlb_drop_count_total', 'reason', 'no_backend'), 5);
  counters = { drop_no_backend: 7, tx_encap: 150 };
  t.is(await value('dsrlb_drop_count_total', 'reason', 'no_backend'), 7);
  t.is(await value('dsrlb_forward_count_total', 'path', 'dsr_encap'), 150);
  // A new map layout's stats map starts at zero: what it counts is added, nothing is taken away.
  counters = { drop_no_backend: 2, tx_encap: 150 };
  t.is(await value('dsrlb_drop_count_total', 'reason', 'no_backend'), 9);
});

test('forwarded bytes follow stats_bytes by path, the same way; a datapath without the map leaves them at zero', async (t) => {
  let bytes: Record<string, number> | undefined;
  const m = metrics(() => ({ ...reading({ tx_encap: 2, pass_local: 1 }), bytes }));
  const value = async (path: string): Promise<number | undefined> =>
    parse(await m.registry.metrics()).get('dsrlb_forward_bytes_total')?.samples.find((s) => s.labels['path'] === path)?.value;
  t.is(await value('dsr_encap'), 0);
  bytes = { tx_encap: 3000, pass_local: 74, drop_no_backend: 0 };
  t.is(await value('dsr_encap'), 3000);
  t.is(await value('local'), 74);
  bytes = { tx_encap: 4500, pass_local: 74 };
  t.is(await value('dsr_encap'), 4500);
  bytes = { tx_encap: 100, pass_local: 74 };
  t.is(await value('dsr_encap'), 4600, 'a new layout\'s map starts at zero: its bytes are added');
});

test('a counter added to dsrlb.h is sorted by its name with no change to the agent', (t) => {
  t.deepEqual(classify('drop_second_chance_loop'), { metric: 'drop', reason: 'second_chance_loop', direction: 'ingress' });
  t.deepEqual(classify('tx_rescue'), { metric: 'forward', path: 'rescue' });
  t.deepEqual(classify('pass_not_ipv4'), { metric: 'pass', reason: 'not_ipv4' });
  t.deepEqual(classify('sock_xlate'), { metric: 'socket', outcome: 'xlate' });
  t.deepEqual(classify('revnat_miss_reply'), { metric: 'event', event: 'revnat_miss_reply' });
  t.deepEqual(classify('pass_local'), { metric: 'forward', path: 'local' }, 'named as a pass, but it forwards');
  t.deepEqual(classify('tx_reject'), { metric: 'event', event: 'tx_reject' }, 'a reply the datapath makes is no forward');
});

test('the counters the datapath adds bytes to (DSRLB_FORWARD_STATS) are exactly those reported as forwards', (t) => {
  const header = readFileSync(join(projectRoot, 'bpf', 'lib', 'stats_bytes.h'), 'utf8');
  const list = /#define DSRLB_FORWARD_STATS\(X\)((?:[^\n]*\\\n)*[^\n]*)/.exec(header)?.[1] ?? '';
  const inC = [...list.matchAll(/X\(DSRLB_STAT_(\w+)\)/g)].map((m) => (m[1] ?? '').toLowerCase()).sort();
  t.true(inC.length > 5, 'the list was read');
  t.deepEqual(inC, COUNTER_NAMES.filter((n) => classify(n).metric === 'forward').sort());
});

/** `count(DSRLB_STAT_DROP_X, VERDICT)` in the C sources: which hook counts which drop reason. */
function dropHooks(): Map<string, Set<'ingress' | 'egress'>> {
  const dirs = [join(projectRoot, 'bpf'), join(projectRoot, 'bpf', 'lib')];
  const hooks = new Map<string, Set<'ingress' | 'egress'>>();
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((n) => /\.[ch]$/.test(n))) {
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/count\(\s*DSRLB_STAT_DROP_(\w+)\s*,\s*(XDP_DROP|TC_ACT_SHOT)\s*\)/g)) {
        const reason = (m[1] ?? '').toLowerCase();
        const set = hooks.get(reason) ?? new Set();
        set.add(m[2] === 'TC_ACT_SHOT' ? 'egress' : 'ingress');
        hooks.set(reason, set);
      }
    }
  }
  return hooks;
}

test('the drop reasons reported as egress are exactly those only the tc program counts (held to the C sources)', (t) => {
  const hooks = dropHooks();
  t.true(hooks.size > 5, 'the sources were read');
  const egressOnly = [...hooks].filter(([, h]) => h.has('egress') && !h.has('ingress')).map(([r]) => r).sort();
  t.deepEqual([...EGRESS_DROP_REASONS].sort(), egressOnly);
});
