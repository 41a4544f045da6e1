/** A KubernetesSource against a seeded in-process API server, recorded: what the source tests start from. */
import type { ExecutionContext } from 'ava';
import { KubernetesSource, type KubernetesSourceOptions } from '../../src/k8s/informers.js';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.js';
import { FakeApiServer } from './fake-apiserver.js';
import { node, service, slice } from './helpers.js';
import { record, type Recording } from './recorder.js';

export interface Harness extends Recording {
  readonly api: FakeApiServer;
  readonly source: KubernetesSource;
}

/** One Service, its EndpointSlice and one Node. */
export async function seeded(): Promise<FakeApiServer> {
  const api = await FakeApiServer.start();
  api.put('services', service('shop', 'web', '10.96.0.10'));
  api.put('endpointslices', slice('shop', 'web-abc', 'web', ['10.244.1.5']));
  api.put('nodes', node('node-a', '198.51.100.1'));
  return api;
}

/** Starts a source on `api` (short timeouts and backoff), by default waiting for its first state. */
export async function harness(t: ExecutionContext, api: FakeApiServer, options: Partial<KubernetesSourceOptions> = {}, waitSync = true): Promise<Harness> {
  t.teardown(() => api.close());
  const { kubeConfig } = loadKubeConfig({ apiServer: api.url, env: {} });
  const source = new KubernetesSource({
    kubeConfig, throttleMs: 0, backoff: { initialMs: 20, maxMs: 200 },
    watchTimeoutSeconds: 60, headersTimeoutMs: 3000, listTimeoutMs: 3000, minWatchIntervalMs: 20, ...options,
  });
  return { api, source, ...(await record(t, source, waitSync)) };
}
