/**
 * Where the API server is and how to authenticate (docs/design.md §4):
 * `--kubeconfig PATH`, else the in-cluster service account, else `KUBECONFIG`;
 * `--api-server URL` replaces the server of whichever was chosen (or stands
 * alone, unauthenticated). A kube-proxy replacement cannot reach the API
 * through the kubernetes ClusterIP it is about to program, so in-cluster it
 * uses KUBERNETES_SERVICE_HOST/PORT exactly as given (the Helm chart sets
 * them to the real endpoint) or the explicit URL.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';
import { DsrlbError } from '../errors.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigOptions {
  /** --kubeconfig PATH */
  readonly kubeconfig?: string;
  /** --api-server URL, e.g. https://10.0.0.1:6443 */
  readonly apiServer?: string;
  /** Environment to read KUBERNETES_SERVICE_HOST/PORT and KUBECONFIG from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Service account mount (default /var/run/secrets/kubernetes.io/serviceaccount). */
  readonly serviceAccountDir?: string;
}

export type KubeConfigOrigin = 'kubeconfig-flag' | 'in-cluster' | 'KUBECONFIG' | 'api-server';

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  readonly origin: KubeConfigOrigin;
  /** The API server URL requests go to. */
  readonly server: string;
}

const REMEDY = 'pass --kubeconfig PATH or --api-server URL, run in a pod with a service account, or set KUBECONFIG';

export function loadKubeConfig(options: KubeConfigOptions = {}): LoadedKubeConfig {
  const env = options.env ?? process.env;
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let kc: KubeConfig | undefined;
  let origin: KubeConfigOrigin;
  if (options.kubeconfig) {
    kc = fromFiles([options.kubeconfig], '--kubeconfig');
    origin = 'kubeconfig-flag';
  } else if (env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT && existsSync(join(saDir, 'token'))) {
    kc = inCluster(env.KUBERNETES_SERVICE_HOST, env.KUBERNETES_SERVICE_PORT, saDir);
    origin = 'in-cluster';
  } else if (env.KUBECONFIG) {
    kc = fromFiles(env.KUBECONFIG.split(delimiter).filter(Boolean), 'KUBECONFIG');
    origin = 'KUBECONFIG';
  } else {
    origin = 'api-server';
  }

  if (options.apiServer) kc = withServer(kc, options.apiServer);
  if (!kc) throw new DsrlbError('ERR_KUBECONFIG', 'no API server configured', { remedy: REMEDY });
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    throw new DsrlbError('ERR_KUBECONFIG', `the current context '${kc.getCurrentContext()}' names no cluster`, {
      subject: origin, remedy: 'fix current-context in the kubeconfig, or pass --api-server URL',
    });
  }
  if (!/^https?:\/\/[^/]+/.test(cluster.server)) {
    throw new DsrlbError('ERR_KUBECONFIG', `'${cluster.server}' is not an http(s) URL`, { subject: origin, remedy: 'e.g. --api-server https://10.0.0.1:6443' });
  }
  return { kubeConfig: kc, origin, server: cluster.server };
}

function fromFiles(files: readonly string[], what: string): KubeConfig {
  const [first, ...rest] = files;
  if (first === undefined) throw new DsrlbError('ERR_KUBECONFIG', `${what} names no file`, { remedy: REMEDY });
  const kc = fromFile(first, what);
  // Later files add what the first lacks, as kubectl merges KUBECONFIG.
  for (const f of rest) kc.mergeConfig(fromFile(f, what), true);
  return kc;
}

function fromFile(file: string, what: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DsrlbError('ERR_KUBECONFIG', code === 'ENOENT' ? 'no such file' : `cannot load: ${e instanceof Error ? e.message : String(e)}`, {
      subject: file, remedy: `check ${what}`, cause: e,
    });
  }
  return kc;
}

/** What client-node's loadFromCluster builds, but from the given environment and mount. */
function inCluster(host: string, port: string, saDir: string): KubeConfig {
  const kc = new KubeConfig();
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const cluster: Cluster = { name: 'in-cluster', server: `https://${h}:${port}`, caFile: join(saDir, 'ca.crt'), skipTLSVerify: false };
  // tokenFile re-reads the projected token as the kubelet rotates it.
  const user: User = { name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile: join(saDir, 'token') } } };
  kc.loadFromClusterAndUser(cluster, user);
  return kc;
}

/** The same credentials against another URL; plain http needs skipTLSVerify in client-node 1.4. */
function withServer(kc: KubeConfig | undefined, server: string): KubeConfig {
  if (!/^https?:\/\/[^/]+/.test(server)) {
    throw new DsrlbError('ERR_KUBECONFIG', `'${server}' is not an http(s) URL`, { subject: '--api-server', remedy: 'e.g. --api-server https://10.0.0.1:6443' });
  }
  const plain = server.startsWith('http:');
  const out = new KubeConfig();
  const current = kc?.getCurrentCluster();
  if (!kc || !current) {
    out.loadFromClusterAndUser({ name: 'api-server', server, skipTLSVerify: plain }, { name: 'anonymous' });
    return out;
  }
  const clusters: Cluster[] = kc.getClusters().map((c) => (c.name === current.name ? { ...c, server, skipTLSVerify: plain || c.skipTLSVerify } : c));
  const users: User[] = kc.getUsers();
  const contexts: Context[] = kc.getContexts();
  out.loadFromOptions({ clusters, users, contexts, currentContext: kc.getCurrentContext() });
  return out;
}
