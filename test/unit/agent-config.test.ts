/** dsrlb-agent flags: defaults, environment fallback, and one clear error per bad value. */
import test from 'ava';
import { mergeEnv, parseAgentConfig, type RawAgentOptions } from '../../src/agent/config.js';
import { DsrlbError } from '../../src/errors.js';

const minimal: RawAgentOptions = { nodeName: 'node-a', devices: 'eth0', manifests: '/etc/dsrlb/manifests' };

test('defaults follow docs/design.md §4', (t) => {
  const c = parseAgentConfig(minimal);
  t.deepEqual(c.source, { kind: 'manifests', dir: '/etc/dsrlb/manifests', limits: { maxFileBytes: 8 * 1024 * 1024, maxObjects: 20_000 } });
  t.is(c.mode, 'dsr');
  t.is(c.xdpMode, 'native');
  t.is(c.maglevTableSize, 16381);
  t.is(c.bpffsRoot, '/sys/fs/bpf/dsrlb');
  t.deepEqual(c.metricsAddr, { host: '0.0.0.0', port: 9963 });
  t.deepEqual(c.healthAddr, { host: '127.0.0.1', port: 9964 });
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
  ['bad metrics address', { ...minimal, metricsAddr: '9963' }, /--metrics-addr: '9963' is not host:port/],
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
