/**
 * `lbctl plan`: the exact contract JSON from a fixtures directory, manifest
 * errors on stderr one line each while the valid rest still plans, and one-line
 * usage errors. Runs the real commander command in-process.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { DsrlbError } from '../../src/errors.js';
import { registerPlanCommand, runPlanCommand } from '../../src/cli/plan-command.js';
import { lines } from '../fixtures/plan-builders.js';

const DIR = fileURLToPath(new URL('../fixtures/plan-basic/manifests', import.meta.url));
const EXPECTED = fileURLToPath(new URL('../fixtures/plan-basic/expected-node-a.json', import.meta.url));

/** Runs `lbctl <args>` with only the plan command registered; collects stdout and stderr. */
async function lbctl(args: string[]): Promise<{ stdout: string; stderr: string; error?: unknown }> {
  const program = new Command('lbctl').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  registerPlanCommand(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    await program.parseAsync(args, { from: 'user' });
    return { stdout, stderr };
  } catch (error) {
    return { stdout, stderr, error };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

const SERVICES = `${DIR}/00-services.yaml`;
const at = (document: number, line: number, kind: string, namespace: string | null, name: string, message: string) =>
  ({ file: SERVICES, document, item: null, line, column: 1, object: { kind, namespace, name }, message });

test.serial('-o json prints the contract object, then the errors and warnings with file, document, line and object', async (t) => {
  const r = await lbctl(['plan', '--manifests', DIR, '--node-name', 'node-a', '-o', 'json']);
  t.is((r.error as DsrlbError | undefined)?.code, 'ERR_MANIFESTS_INVALID', 'errors: lbctl exits 1');
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  t.deepEqual(Object.keys(out), ['frontends', 'healthCheckNodePorts', 'errors', 'warnings'], 'the contract fields first, unchanged');
  t.deepEqual({ frontends: out['frontends'], healthCheckNodePorts: out['healthCheckNodePorts'] }, JSON.parse(await readFile(EXPECTED, 'utf8')));
  t.is(r.stdout, `${JSON.stringify(out, null, 2)}\n`, 'one JSON object, nothing else on stdout');
  t.deepEqual(out['errors'], [
    at(4, 54, 'Service', 'default', 'broken', 'spec.ports[0].port: 70000 is not a port number (1-65535)'),
    { file: `${DIR}/30-broken.yaml`, document: 0, item: null, line: 4, column: 1, object: null,
      message: 'not valid YAML: Flow map in block collection must be sufficiently indented and end with a }' },
  ]);
  t.deepEqual(out['warnings'], [
    at(1, 15, 'Service', 'default', 'shop', 'status.loadBalancer.ingress[1]: 203.0.113.11 has ipMode Proxy: no LoadBalancer frontend (the load balancer itself sends the traffic to the nodes), as by kube-proxy'),
    at(2, 38, 'Service', 'default', 'headless', 'not proxied: headless (clusterIP None), as by kube-proxy'),
    at(3, 47, 'ConfigMap', null, 'settings', 'not used by dsrlb (only Service, EndpointSlice, Node)'),
  ]);
});

test.serial('on stderr each file\'s path is printed once, then its errors and warnings by line; the rest still plans', async (t) => {
  const r = await lbctl(['plan', '--manifests', DIR, '--node-name', 'node-a', '-o', 'json']);
  t.deepEqual(r.stderr.trimEnd().split('\n'), [
    `lbctl: ${SERVICES}:`,
    '  line 15, column 1 (document 1): warning: Service default/shop: status.loadBalancer.ingress[1]: 203.0.113.11 has ipMode Proxy: no LoadBalancer frontend (the load balancer itself sends the traffic to the nodes), as by kube-proxy',
    '  line 38, column 1 (document 2): warning: Service default/headless: not proxied: headless (clusterIP None), as by kube-proxy',
    '  line 47, column 1 (document 3): warning: ConfigMap settings: not used by dsrlb (only Service, EndpointSlice, Node)',
    '  line 54, column 1 (document 4): error: Service default/broken: spec.ports[0].port: 70000 is not a port number (1-65535)',
    `lbctl: ${DIR}/30-broken.yaml:`,
    '  line 4, column 1 (document 0): error: not valid YAML: Flow map in block collection must be sufficiently indented and end with a }',
  ]);
});

test.serial('the text table lists every frontend', async (t) => {
  const r = await lbctl(['plan', '--manifests', DIR, '--node-name', 'node-a']);
  t.is((r.error as DsrlbError | undefined)?.code, 'ERR_MANIFESTS_INVALID');
  const rows = r.stdout.split('\n');
  t.regex(rows[0] ?? '', /^SERVICE\s+PORT\s+KIND\s+FRONTEND\s+BACKENDS\s+SCOPE\s+OPTIONS$/);
  t.regex(rows[3] ?? '', /^default\/shop\s+http\s+LoadBalancer\s+203\.0\.113\.10:80\/TCP\s+198\.18\.1\.9:8080\s+Local\s+from 198\.51\.100\.0\/24$/);
  t.true(r.stdout.includes('30123'));
});

test('--node-address and --zone override the Node object; a node without local endpoints drops Local traffic', async (t) => {
  const { plan } = await runPlanCommand({ manifests: DIR, nodeName: 'node-c', nodeAddress: ['198.51.100.3', '198.51.100.13'], zone: 'zone-c' });
  t.deepEqual(lines(plan), [
    'default/shop:http ClusterIP 10.96.0.20:80/TCP Cluster -> 198.18.1.9:8080@node-a, 198.18.2.9:8080@node-b',
    'default/shop:http NodePort 198.51.100.3:30080/TCP Local -> drop',
    'default/shop:http NodePort 198.51.100.13:30080/TCP Local -> drop',
    'default/shop:http LoadBalancer 203.0.113.10:80/TCP Local -> drop [from=198.51.100.0/24]',
    'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a, 198.18.2.7:8080@node-b [affinity=10800]',
  ]);
  t.deepEqual(plan.healthCheckNodePorts, [{ service: 'default/shop', port: 30123, localReadyEndpoints: 0 }]);
});

test('a bad --node-address is a usage error naming the flag and the fix', async (t) => {
  const err = await t.throwsAsync(runPlanCommand({ manifests: DIR, nodeName: 'node-a', nodeAddress: ['198.51.100'] }), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_USAGE');
  t.is(err?.toLine(), '--node-address: \'198.51.100\' is not an IP address (pass an IPv4 or IPv6 address without leading zeros, e.g. --node-address 198.51.100.1; repeat the flag for more)');
  // Strict, unlike object fields: an operator who types a leading zero may mean octal.
  await t.throwsAsync(runPlanCommand({ manifests: DIR, nodeName: 'node-a', nodeAddress: ['198.51.100.010'] }), { instanceOf: DsrlbError, code: 'ERR_USAGE' });
});

test('a missing manifests directory is one line that says what to pass (exit 1, not usage)', async (t) => {
  const err = await t.throwsAsync(runPlanCommand({ manifests: '/nonexistent/dsrlb', nodeName: 'node-a' }), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_MANIFESTS_DIR');
  t.is(err?.toLine(), '/nonexistent/dsrlb: no such directory (pass --manifests DIR, a directory of YAML/JSON manifests)');
});

test.serial('a missing required flag is a commander usage error (exit 2 in lbctl)', async (t) => {
  const r = await lbctl(['plan', '--manifests', DIR]);
  t.true(r.error instanceof CommanderError);
  t.is((r.error as CommanderError).code, 'commander.missingMandatoryOptionValue');
});

test.serial('an unknown output format is a usage error', async (t) => {
  const r = await lbctl(['plan', '--manifests', DIR, '--node-name', 'node-a', '-o', 'yaml']);
  t.true(r.error instanceof DsrlbError);
  t.is((r.error as DsrlbError).code, 'ERR_USAGE');
});
