/**
 * The agent's one call: the source its configuration asks for
 * (AgentConfig.source: `--kubeconfig`/`--api-server`/in-cluster, or `--manifests DIR`).
 */
import { KubernetesSource } from './informers.js';
import { loadKubeConfig, type KubeConfigOptions } from './kubeconfig.js';
import type { ManifestLimits } from './manifest-limits.js';
import { ManifestSource, type ManifestSourceOptions } from './manifest-source.js';
import type { WatcherOptions } from './resource-watcher.js';
import type { Source, SourceOptions } from './source.js';

export type SourceSpec =
  | { readonly kind: 'kubernetes'; readonly kubeconfig?: string; readonly apiServer?: string }
  | { readonly kind: 'manifests'; readonly dir: string; readonly limits?: ManifestLimits };

export interface CreateSourceOptions extends SourceOptions {
  /** Kubernetes only: environment and service account mount (tests). */
  readonly kubeConfig?: Pick<KubeConfigOptions, 'env' | 'serviceAccountDir'>;
  /** Kubernetes only: watch timing and backoff. */
  readonly watch?: WatcherOptions;
  /** Manifests only: re-scan, settle, fs.watch. */
  readonly manifests?: Omit<ManifestSourceOptions, 'dir' | keyof SourceOptions>;
}

export interface CreatedSource {
  readonly source: Source;
  /** For the start-up log line: where the state comes from. */
  readonly description: string;
}

/** Throws DsrlbError (ERR_KUBECONFIG) when no API server configuration can be found. */
export function createSource(spec: SourceSpec, options: CreateSourceOptions = {}): CreatedSource {
  const common: SourceOptions = options.throttleMs === undefined ? {} : { throttleMs: options.throttleMs };
  if (spec.kind === 'manifests') {
    return { source: new ManifestSource({ ...options.manifests, ...common, dir: spec.dir, ...(spec.limits ? { limits: spec.limits } : {}) }), description: `manifests in ${spec.dir}` };
  }
  const loaded = loadKubeConfig({
    ...options.kubeConfig,
    ...(spec.kubeconfig ? { kubeconfig: spec.kubeconfig } : {}),
    ...(spec.apiServer ? { apiServer: spec.apiServer } : {}),
  });
  return {
    source: new KubernetesSource({ ...options.watch, ...common, kubeConfig: loaded.kubeConfig }),
    description: `Kubernetes API ${loaded.server} (${loaded.origin})`,
  };
}
