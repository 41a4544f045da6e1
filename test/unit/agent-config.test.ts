/** dsrlb-agent flags: defaults, environment fallback, and one clear error per bad value. */
import test from 'ava';
import { mergeEnv, parseAgentConfig, type RawAgentOptions } from '../../src/agent/config.js';
import { DsrlbError } from '../../src/errors.js';

const minimal: RawAgentOptions = { nodeName: 'node-a', devices: 'eth0', manifests: '/etc/dsrlb/manifests' };

test('defaults follow docs/design.md §4', (t) => {
  const c = parseAgentConfig(minimal);
  t.deepEqual(c.source, { kind: 'manifests', dir: '/etc/dsrlb/manifests' });
  t.is(c.mode, 'dsr');
  t.is(c.xdpMode, 'native');
  t.is(c.maglevTableSize, 16381);
  t.is(c.bpffsRoot, '/sys/fs/bpf/dsrlb');
  t.deepEqual(c.metricsAddr, { host: '0.0.0.0', port: 9963 });
  t.deepEqual(c.healthAddr, { host: '127.0.0.1', port: 9964 });
  t.deepEqual(c.healthzBindAddress, { host: '0.0.0.0', port: 10256 });
  t.is(c.mtu, undefined);
});

test('--healthz-bind-address: kube-proxy\'s default, empty turns it off, a bad value is named', (t) => {
  t.deepEqual(parseAgentConfig({ ...minimal, healthzBindAddress: '127.0.0.1:20256' }).healthzBindAddress, { host: '127.0.0.1', port: 20256 });
  t.is(parseAgentConfig({ ...minimal, healthzBindAddress: '' }).healthzBindAddress, undefined);
  t.deepEqual(parseAgentConfig(mergeEnv(minimal, { DSRLB_HEALTHZ_BIND_ADDRESS: '[::]:10256' })).healthzBindAddress, { host: '::', port: 10256 });
  const e = t.throws(() => parseAgentConfig({ ...minimal, healthzBindAddress: '10256' }), { instanceOf: DsrlbError });
  t.regex(e?.toLine() ?? '', /--healthz-bind-address: '10256' is not host:port/);
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
  ['non-prime Maglev size', { ...minimal, maglevTableSize: '16384' }, /--maglev-table-size: 16384 is not prime/],
  ['Maglev size below the minimum', { ...minimal, maglevTableSize: '7' }, /--maglev-table-size/],
  ['MTU not a number', { ...minimal, mtu: '15OO' }, /--mtu: '15OO'/],
  ['bad metrics address', { ...minimal, metricsAddr: '9963' }, /--metrics-addr: '9963' is not host:port/],
  ['bad device name', { ...minimal, devices: 'eth0,bad name!' }, /--devices: 'bad name!'/],
  ['bad API server', { nodeName: 'n', devices: 'eth0', apiServer: '10.0.0.1:6443' }, /--api-server.*https:\/\//],
  ['bad node address', { ...minimal, nodeAddress: '300.1.1.1' }, /--node-address/],
];
for (const [name, raw, message] of bad) {
  test(`rejects ${name} with one line naming the flag and the fix`, (t) => {
    const err = t.throws(() => parseAgentConfig(raw), { instanceOf: DsrlbError });
    t.is(err?.code, 'ERR_USAGE');
    t.regex(err?.toLine() ?? '', message);
  });
}
