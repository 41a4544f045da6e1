/** dsrlb-agent flags: defaults, environment fallback, and one clear error per bad value. */
import test from 'ava';
import { mergeEnv, parseAgentConfig, tableMaxEntries, type RawAgentOptions } from '../../src/agent/config.js';
import { DsrlbError } from '../../src/errors.js';

const minimal: RawAgentOptions = { nodeName: 'node-a', devices: 'eth0', manifests: '/etc/dsrlb/manifests' };

test('defaults follow docs/design.md §4', (t) => {
  const c = parseAgentConfig(minimal);
  t.deepEqual(c.source, { kind: 'manifests', dir: '/etc/dsrlb/manifests', limits: { maxFileBytes: 8 * 1024 * 1024, maxObjects: 20_000 } });
  t.is(c.mode, 'dsr');
  t.is(c.xdpMode, 'native');
  t.is(c.maglevTableSize, 16381);
  t.is(c.bpffsRoot, '/sys/fs/bpf/dsrlb');
  t.deepEqual(c.metricsAddr, { host: '127.0.0.1', port: 9476 }, 'metrics on loopback unless asked, as kube-proxy\'s');
  t.deepEqual(c.healthAddr, { host: '127.0.0.1', port: 9477 });
  t.is(c.logFormat, 'text');
  t.deepEqual(c.healthzBindAddress, { host: '0.0.0.0', port: 10256 });
  t.is(c.mtu, undefined);
  t.is(c.syncPeriodMs, 60 * 60 * 1000, "kube-proxy's --sync-period default");
  t.is(c.genevePort, 6081);
  t.deepEqual(c.generatedReplies, { rate: 1000, burst: 50 });
  t.false(c.xdpReplaceForeign);
});

test('Geneve port, generated-reply budget and --xdp-replace-foreign, from flags or the environment', (t) => {
  const c = parseAgentConfig({ ...minimal, genevePort: '7081', generatedRepliesRate: '0', generatedRepliesBurst: '10', xdpReplaceForeign: true });
  t.is(c.genevePort, 7081);
  t.deepEqual(c.generatedReplies, { rate: 0, burst: 10 });
  t.true(c.xdpReplaceForeign);
  const e = parseAgentConfig(mergeEnv(minimal, { DSRLB_GENEVE_PORT: '6082', DSRLB_XDP_REPLACE_FOREIGN: 'true', DSRLB_GENERATED_REPLIES_RATE: '20' }));
  t.is(e.genevePort, 6082);
  t.true(e.xdpReplaceForeign);
  t.is(e.generatedReplies.rate, 20);
});

test('--healthz-bind-address: kube-proxy\'s default, empty turns it off, a bad value is named', (t) => {
  t.deepEqual(parseAgentConfig({ ...minimal, healthzBindAddress: '127.0.0.1:20256' }).healthzBindAddress, { host: '127.0.0.1', port: 20256 });
  t.is(parseAgentConfig({ ...minimal, healthzBindAddress: '' }).healthzBindAddress, undefined);
  t.deepEqual(parseAgentConfig(mergeEnv(minimal, { DSRLB_HEALTHZ_BIND_ADDRESS: '[::]:10256' })).healthzBindAddress, { host: '::', port: 10256 });
  const e = t.throws(() => parseAgentConfig({ ...minimal, healthzBindAddress: '10256' }), { instanceOf: DsrlbError });
  t.regex(e?.toLine() ?? '', /--healthz-bind-address: '10256' is not host:port/);
});

test('--sync-period takes durations, from the flag or DSRLB_SYNC_PERIOD', (t) => {
  t.is(parseAgentConfig({ ...minimal, syncPeriod: '30s' }).syncPeriodMs, 30_000);
  t.is(parseAgentConfig({ ...minimal, syncPeriod: '1h' }).syncPeriodMs, 3_600_000);
  t.is(parseAgentConfig({ ...minimal, syncPeriod: '1m30s' }).syncPeriodMs, 90_000);
  t.is(parseAgentConfig({ ...minimal, syncPeriod: '1500ms' }).syncPeriodMs, 1500);
  t.is(parseAgentConfig(mergeEnv(minimal, { DSRLB_SYNC_PERIOD: '2m' })).syncPeriodMs, 120_000);
});

test('the environment fills what the flags leave out, flags win', (t) => {
  const raw = mergeEnv({ devices: 'eth1' }, { NODE_NAME: 'node-b', DSRLB_DEVICES: 'eth9', DSRLB_MODE: 'hybrid' });
  const c = parseAgentConfig(raw);
  t.is(c.nodeName, 'node-b');
  t.deepEqual(c.devices, ['eth1']);
  t.is(c.mode, 'hybrid');
  t.deepEqual(c.source, { kind: 'kubernetes' });
});

test('the default ports collide with none of Cilium, Hubble, Calico, node-exporter, the kubelet or kube-proxy', (t) => {
  const taken = [9962, 9963, 9964, 9965, 9879, 9890, 9891, 9893, 4240, 4244, 4245, 9091, 9099, 9100, 10248, 10249, 10250, 10255, 10256];
  const c = parseAgentConfig(minimal);
  for (const port of [c.metricsAddr.port, c.healthAddr.port]) t.false(taken.includes(port), String(port));
  t.not(c.metricsAddr.port, c.healthAddr.port);
});

test('--log-format from the flag or DSRLB_LOG_FORMAT', (t) => {
  t.is(parseAgentConfig({ ...minimal, logFormat: 'json' }).logFormat, 'json');
  t.is(parseAgentConfig(mergeEnv(minimal, { DSRLB_LOG_FORMAT: 'json' })).logFormat, 'json');
  t.is(parseAgentConfig(mergeEnv({ ...minimal, logFormat: 'text' }, { DSRLB_LOG_FORMAT: 'json' })).logFormat, 'text', 'the flag wins');
});

test('KUBECONFIG does not beat in-cluster config: the source loader reads it last', (t) => {
  t.deepEqual(parseAgentConfig(mergeEnv({ nodeName: 'n', devices: 'eth0' }, { KUBECONFIG: '/k' })).source, { kind: 'kubernetes' });
  t.deepEqual(parseAgentConfig({ nodeName: 'n', devices: 'eth0', kubeconfig: '/k' }).source, { kind: 'kubernetes', kubeconfig: '/k' });
});

const bad: [string, RawAgentOptions, RegExp][] = [
  ['missing node name', { devices: 'eth0' }, /--node-name.*NODE_NAME/],
  ['missing devices', { nodeName: 'n' }, /--devices/],
  ['unknown mode', { ...minimal, mode: 'fast' }, /--mode: unknown value 'fast'.*dsr, snat, hybrid/],
  ['Maglev size below the base size', { ...minimal, maglevTableSize: '1009' }, /--maglev-table-size: '1009' is not a whole number in \[1021, 1000003\]/],
  ['Maglev size above the maximum', { ...minimal, maglevTableSize: '2000000' }, /--maglev-table-size/],
  ['MTU not a number', { ...minimal, mtu: '15OO' }, /--mtu: '15OO'/],
  ['bad metrics address', { ...minimal, metricsAddr: '9476' }, /--metrics-addr: '9476' is not host:port.*127\.0\.0\.1:9476/],
  ['unknown log format', { ...minimal, logFormat: 'logfmt' }, /--log-format: unknown value 'logfmt' \(use one of: text, json\)/],
  ['bad device name', { ...minimal, devices: 'eth0,bad name!' }, /--devices: 'bad name!'/],
  ['bad API server', { nodeName: 'n', devices: 'eth0', apiServer: '10.0.0.1:6443' }, /--api-server.*https:\/\//],
  ['bad node address', { ...minimal, nodeAddress: '300.1.1.1' }, /--node-address/],
  ['a sync period without a unit', { ...minimal, syncPeriod: '60' }, /--sync-period: '60' is not a duration.*30s/],
  ['a sync period under a second', { ...minimal, syncPeriod: '10ms' }, /--sync-period: 10ms is shorter than 1s/],
  ['Geneve port 0', { ...minimal, genevePort: '0' }, /--geneve-port: '0' is not a whole number in \[1, 65535\]/],
  ['generated-reply rate too high', { ...minimal, generatedRepliesRate: '5000000' }, /--generated-replies-rate/],
  ['generated-reply burst of 0', { ...minimal, generatedRepliesBurst: '0' }, /--generated-replies-burst/],
  ['--xdp-replace-foreign not a switch', { ...minimal, xdpReplaceForeign: 'maybe' }, /--xdp-replace-foreign: 'maybe' is not a switch value/],
];
for (const [name, raw, message] of bad) {
  test(`rejects ${name} with one line naming the flag and the fix`, (t) => {
    const err = t.throws(() => parseAgentConfig(raw), { instanceOf: DsrlbError });
    t.is(err?.code, 'ERR_USAGE');
    t.regex(err?.toLine() ?? '', message);
  });
}

test('socket LB flags: on by default, --socket-lb alone or =true/false, from the environment too; a bad value is one usage error', (t) => {
  const d = parseAgentConfig(minimal);
  t.true(d.socketLb);
  t.false(d.socketLbHostNamespaceOnly);
  t.is(d.cgroupRoot, undefined, 'found from /proc/mounts when the agent starts');
  t.true(parseAgentConfig({ ...minimal, socketLb: true }).socketLb, '--socket-lb without a value');
  t.false(parseAgentConfig({ ...minimal, socketLb: 'false' }).socketLb);
  t.true(parseAgentConfig({ ...minimal, socketLbHostNamespaceOnly: 'true' }).socketLbHostNamespaceOnly);
  const env = parseAgentConfig(mergeEnv(minimal, { DSRLB_SOCKET_LB: 'false', DSRLB_CGROUP_ROOT: '/sys/fs/cgroup/k8s' }));
  t.false(env.socketLb);
  t.is(env.cgroupRoot, '/sys/fs/cgroup/k8s');
  const err = t.throws(() => parseAgentConfig({ ...minimal, socketLb: 'maybe' }), { instanceOf: DsrlbError });
  t.is(err?.subject, '--socket-lb');
  t.regex(err?.remedy ?? '', /true or false/);
});

test('manifest limits come from their flags and refuse nonsense', (t) => {
  const c = parseAgentConfig({ ...minimal, manifestsMaxFileBytes: '65536', manifestsMaxObjects: '50' });
  t.deepEqual(c.source, { kind: 'manifests', dir: '/etc/dsrlb/manifests', limits: { maxFileBytes: 65536, maxObjects: 50 } });
  const e = t.throws(() => parseAgentConfig({ ...minimal, manifestsMaxObjects: '0' }), { instanceOf: DsrlbError });
  t.regex(e?.toLine() ?? '', /--manifests-max-objects: '0' is not a whole number/);
  t.throws(() => parseAgentConfig({ ...minimal, manifestsMaxFileBytes: '12k' }), { message: /'12k' is not a whole number/ });
});

test('connection table sizes and the reverse-NAT fallback: defaults, flags, environment, bad values named', (t) => {
  const d = parseAgentConfig(minimal);
  t.deepEqual(d.tableSizes, { revnat: 32768, revnatUnconfirmed: 16384, flows: 16384, flowsUnconfirmed: 4096 });
  t.false(d.revnatFallback);
  t.deepEqual(tableMaxEntries(d.tableSizes),
    { lb4_dsr_revnat: 32768, lb4_dsr_revnat_new: 16384, lb4_flows: 16384, lb4_flows_new: 4096, lb4_snat_new: 8192 });
  const c = parseAgentConfig({ ...minimal, revnatMax: '262144', revnatUnconfirmedMax: '65536', flowsMax: '4096', flowsUnconfirmedMax: '2048', revnatFallback: 'unique-frontend' });
  t.deepEqual(c.tableSizes, { revnat: 262144, revnatUnconfirmed: 65536, flows: 4096, flowsUnconfirmed: 2048 });
  t.true(c.revnatFallback);
  const e = parseAgentConfig(mergeEnv(minimal, { DSRLB_REVNAT_MAX: '100000', DSRLB_REVNAT_FALLBACK: 'off' }));
  t.is(e.tableSizes.revnat, 100000);
  t.false(e.revnatFallback);
  for (const [raw, flag] of [[{ revnatMax: '10' }, '--revnat-max'], [{ flowsMax: '1e6' }, '--flows-max'],
    [{ revnatUnconfirmedMax: '99999999' }, '--revnat-unconfirmed-max'], [{ flowsUnconfirmedMax: '12' }, '--flows-unconfirmed-max'], [{ revnatFallback: 'yes' }, '--revnat-fallback']] as const) {
    const err = t.throws(() => parseAgentConfig({ ...minimal, ...raw }), { instanceOf: DsrlbError });
    t.is(err?.subject, flag);
  }
});
