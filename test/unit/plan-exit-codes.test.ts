/**
 * `lbctl plan` as a separate process (bin/lbctl.js, built by `make test`):
 * exit 0 when every file and object was read, 1 when any had an error (the
 * rest still planned and printed), 2 for usage errors; the JSON output's
 * `errors` and `warnings` arrays.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LBCTL = fileURLToPath(new URL('../../bin/lbctl.js', import.meta.url));
const BROKEN = fileURLToPath(new URL('../fixtures/plan-basic/manifests', import.meta.url));

async function lbctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [LBCTL, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

const CLEAN = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  clusterIP: 10.96.0.10
  ports: [{ name: http, port: 80 }]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, namespace: shop, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [198.18.1.5], nodeName: node-a }]
`;

test('exit 0 when everything was read; warnings alone do not fail', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dsrlb-plan-'));
  try {
    await writeFile(join(dir, 'web.yaml'), CLEAN);
    await mkdir(join(dir, 'old'));
    const r = await lbctl(['plan', '--manifests', dir, '--node-name', 'node-a', '-o', 'json']);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { frontends: { address: string }[]; errors: unknown[]; warnings: { file: string | null; message: string }[] };
    t.deepEqual(out.frontends.map((f) => f.address), ['10.96.0.10']);
    t.deepEqual(out.errors, []);
    t.deepEqual(out.warnings.map((w) => [w.file, w.message]), [
      [null, 'no Node objects in the manifests: node node-a\'s addresses (NodePort frontends) come from --node-address only, its zone from --zone'],
      [join(dir, 'old'), 'a subdirectory: not read (only the directory\'s own .yaml, .yml and .json files are)'],
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('exit 1 when a file or object had an error: the rest is still planned and printed', async (t) => {
  for (const output of ['json', 'text']) {
    const r = await lbctl(['plan', '--manifests', BROKEN, '--node-name', 'node-a', '-o', output]);
    t.is(r.code, 1);
    t.regex(r.stdout, /10\.96\.0\.20/, 'the valid Services are planned');
    t.regex(r.stderr, /^lbctl: 2 errors in the manifests \(listed above\); everything else was planned and printed \(fix them and run lbctl plan again\)$/m);
    if (output === 'json') {
      const out = JSON.parse(r.stdout) as { errors: { file: string; line: number }[] };
      t.deepEqual(out.errors.map((e) => [e.file.slice(BROKEN.length + 1), e.line]), [['00-services.yaml', 54], ['30-broken.yaml', 4]]);
    }
  }
});

test('exit 2 for usage errors', async (t) => {
  t.is((await lbctl(['plan', '--manifests', BROKEN])).code, 2, 'no --node-name');
  t.is((await lbctl(['plan', '--manifests', BROKEN, '--node-name', 'node-a', '-o', 'yaml'])).code, 2, 'unknown output format');
  t.is((await lbctl(['plan', '--manifests', BROKEN, '--node-name', 'node-a', '--node-address', '198.51.100.01'])).code, 2, 'a flag is read strictly');
});
