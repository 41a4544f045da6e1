/** lbctl reads what is pinned: the real CLI, run as a separate process. */
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BpfObjectFile, BpfObjects, projectRoot } from '../../src/bpf/index.js';
import { MapSpecs, mapOf } from '../../src/bpf/map-specs.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const run = promisify(execFile);
const lbctl = `${projectRoot}/bin/lbctl.js`;

async function lbctlRun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [lbctl, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

test('bpf lb list shows the services a test pinned, as a table and as JSON', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const obj = BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root });
  t.teardown(() => obj.close());
  const services = mapOf(obj, MapSpecs.services);
  services.update({ address: '203.0.113.10', port: 80, proto: 6 }, { serviceId: 1, affinityTimeout: 0, backendCount: 3, revnatId: 1, flags: 0, maglevSize: 251 });
  services.update({ address: '203.0.113.11', port: 53, proto: 17 }, { serviceId: 2, affinityTimeout: 0, backendCount: 1, revnatId: 2, flags: 0, maglevSize: 251 });

  const text = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^SERVICE ADDRESS\s+BACKEND ADDRESS \(REVNAT_ID\) \(SLOT\)/);
  t.regex(text.stdout, /203\.0\.113\.10:80\/TCP/);
  t.regex(text.stdout, /203\.0\.113\.11:53\/UDP/);

  const json = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root, '-o', 'json']);
  const parsed = JSON.parse(json.stdout) as { frontend: { address: string; port: number; protocol: string }; serviceId: number }[];
  t.deepEqual(parsed.map((s) => [s.frontend, s.serviceId]), [
    [{ address: '203.0.113.10', port: 80, protocol: 'TCP' }, 1],
    [{ address: '203.0.113.11', port: 53, protocol: 'UDP' }, 2],
  ]);
});

test('bpf lb list on an empty map prints only the header', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  BpfObjectFile.load(BpfObjects.xdpLb, { pinRoot: root }).close();
  const out = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', root]);
  t.is(out.code, 0);
  t.is(out.stdout.trim().split('\n').length, 1);
});

test('bpf lb list with nothing pinned: one line naming the path and what to check, exit 1', async (t) => {
  const out = await lbctlRun(['bpf', 'lb', 'list', '--bpffs-root', '/sys/fs/bpf/dsrlb-nothing-here']);
  t.is(out.code, 1);
  t.is(out.stderr.trim().split('\n').length, 1);
  t.regex(out.stderr, /lb4_services.*not pinned.*--bpffs-root/);
});

test('a usage error exits 2', async (t) => {
  const out = await lbctlRun(['bpf', 'lb', 'list', '--no-such-flag']);
  t.is(out.code, 2);
  t.regex(out.stderr, /unknown option/);
});

test('version prints dsrlb, libbpf and kernel versions', async (t) => {
  const out = await lbctlRun(['version', '-o', 'json']);
  t.is(out.code, 0, out.stderr);
  const v = JSON.parse(out.stdout) as Record<string, string>;
  t.regex(v['libbpf'] ?? '', /^v?1\.\d+/);
  t.regex(v['dsrlb'] ?? '', /^\d+\.\d+\.\d+/);
  t.truthy(v['kernel']);
});
