/** Where the API server is: --kubeconfig, in-cluster, KUBECONFIG, --api-server. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { DsrlbError } from '../../src/errors.js';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.js';

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dsrlb-kc-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const kubeconfigYaml = (server: string, user = 'admin'): string => `apiVersion: v1
kind: Config
current-context: lab
clusters: [{name: lab, cluster: {server: "${server}", certificate-authority-data: Zm9v}}]
users: [{name: ${user}, user: {token: secret-${user}}}]
contexts: [{name: lab, context: {cluster: lab, user: ${user}}}]
`;

async function serviceAccount(t: ExecutionContext): Promise<string> {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'token'), 'sa-token');
  await writeFile(join(dir, 'ca.crt'), 'ca');
  return dir;
}

test('--kubeconfig wins over the service account and KUBECONFIG', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'config');
  await writeFile(file, kubeconfigYaml('https://10.0.0.1:6443'));
  const sa = await serviceAccount(t);
  const r = loadKubeConfig({ kubeconfig: file, serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.0.0.2', KUBERNETES_SERVICE_PORT: '6443', KUBECONFIG: '/nope' } });
  t.is(r.origin, 'kubeconfig-flag');
  t.is(r.server, 'https://10.0.0.1:6443');
  t.is(r.kubeConfig.getCurrentUser()?.token, 'secret-admin');
});

test('in-cluster uses KUBERNETES_SERVICE_HOST/PORT as given, with the service account token', async (t) => {
  const sa = await serviceAccount(t);
  const r = loadKubeConfig({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '198.51.100.10', KUBERNETES_SERVICE_PORT: '6443', KUBECONFIG: '/nope' } });
  t.is(r.origin, 'in-cluster');
  t.is(r.server, 'https://198.51.100.10:6443');
  t.is(r.kubeConfig.getCurrentCluster()?.caFile, join(sa, 'ca.crt'));
  const headers: Record<string, string> = {};
  await r.kubeConfig.applyToHTTPSOptions({ headers });
  t.is(headers.Authorization, 'Bearer sa-token');
  // IPv6 hosts are bracketed.
  t.is(loadKubeConfig({ serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' } }).server, 'https://[fd00::1]:443');
});

test('without a flag or a service account, KUBECONFIG (a list of files) is used', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await writeFile(a, kubeconfigYaml('https://10.0.0.3:6443'));
  await writeFile(b, kubeconfigYaml('https://10.0.0.4:6443', 'other').replace(/name: lab/g, 'name: other').replace('current-context: lab', 'current-context: other'));
  const r = loadKubeConfig({ serviceAccountDir: join(dir, 'none'), env: { KUBECONFIG: `${a}:${b}` } });
  t.is(r.origin, 'KUBECONFIG');
  t.is(r.server, 'https://10.0.0.3:6443', 'the first file picks the context');
  t.is(r.kubeConfig.getClusters().length, 2);
});

test('--api-server replaces the server and keeps the credentials; plain http gets skipTLSVerify (client-node 1.4 needs it)', async (t) => {
  const sa = await serviceAccount(t);
  const r = loadKubeConfig({ apiServer: 'https://198.51.100.20:6443', serviceAccountDir: sa, env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' } });
  t.is(r.origin, 'in-cluster');
  t.is(r.server, 'https://198.51.100.20:6443');
  t.is(r.kubeConfig.getCurrentCluster()?.skipTLSVerify, false);
  t.is(r.kubeConfig.getCurrentUser()?.authProvider?.config?.tokenFile, join(sa, 'token'));

  const alone = loadKubeConfig({ apiServer: 'http://127.0.0.1:8080', env: {} });
  t.is(alone.origin, 'api-server');
  t.is(alone.kubeConfig.getCurrentCluster()?.skipTLSVerify, true);
});

test('errors say what is wrong and what to do', (t) => {
  const none = t.throws(() => loadKubeConfig({ serviceAccountDir: '/nonexistent', env: {} }), { instanceOf: DsrlbError });
  t.is(none?.code, 'ERR_KUBECONFIG');
  t.regex(none?.toLine() ?? '', /no API server configured \(pass --kubeconfig PATH or --api-server URL/);

  const missing = t.throws(() => loadKubeConfig({ kubeconfig: '/nonexistent/config', env: {} }), { instanceOf: DsrlbError });
  t.is(missing?.toLine(), '/nonexistent/config: no such file (check --kubeconfig)');

  const bad = t.throws(() => loadKubeConfig({ apiServer: '10.0.0.1:6443', env: {} }), { instanceOf: DsrlbError });
  t.is(bad?.subject, '--api-server');
});
