/**
 * The Kubernetes source: informers on Services, EndpointSlices and Nodes
 * (resource-watcher.ts) feeding one ClusterStore. The first state goes out once
 * all three have listed; after that every change, throttled. Failures never
 * remove anything: only a DELETED event or a successful relist does, so the
 * datapath keeps serving the last good state through an API server outage.
 * An object that arrives invalid is reported and skipped; the last good
 * version of it stays.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { RESOURCE_KINDS, type ResourceKind } from './cluster-store.js';
import type { KeyedObject } from './list.js';
import { validateEndpointSlice, validateNode, validateService, type ValidationResult } from './manifest-validate.js';
import { ResourceWatcher, type WatcherOptions, type WatcherStats } from './resource-watcher.js';
import { SourceError, type SourceOptions } from './source.js';
import { StoreSource } from './store-source.js';

/**
 * The same checks and API defaulting as for hand-written manifests: the API
 * server has validated and defaulted already, so a good object passes
 * unchanged, but a stream can still carry something the plan cannot use.
 */
const VALIDATE: Readonly<Record<ResourceKind, (raw: unknown) => ValidationResult>> = {
  services: validateService, endpointSlices: validateEndpointSlice, nodes: validateNode,
};

export interface KubernetesSourceOptions extends SourceOptions, WatcherOptions {
  /** From loadKubeConfig(); a copy is made per resource. */
  readonly kubeConfig: KubeConfig;
}

export class KubernetesSource extends StoreSource {
  private readonly watchers: readonly ResourceWatcher[];
  private readonly listed = new Set<ResourceKind>();

  constructor(options: KubernetesSourceOptions) {
    super(options);
    const sink = {
      upsert: (kind: ResourceKind, obj: KeyedObject) => this.upsert(kind, obj),
      remove: (kind: ResourceKind, obj: KeyedObject) => {
        if (this.store.delete(kind, objectKey(kind, obj))) this.changed();
      },
      listed: (kind: ResourceKind) => {
        this.listed.add(kind);
        if (this.listed.size < RESOURCE_KINDS.length) return;
        this.markRead();
        this.markSynced();
      },
      error: (e: SourceError) => this.report(e),
    };
    this.watchers = RESOURCE_KINDS.map((kind) => new ResourceWatcher(options.kubeConfig, kind, sink, options));
  }

  /** Per resource: lists done (1 + relists) and restarts after errors. */
  stats(): Readonly<Record<ResourceKind, WatcherStats>> {
    const out = {} as Record<ResourceKind, WatcherStats>;
    for (const w of this.watchers) out[w.kind] = w.stats;
    return out;
  }

  protected begin(): void {
    for (const w of this.watchers) w.start();
  }

  protected async end(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  protected failing(): readonly string[] {
    return this.watchers.filter((w) => w.failing).map((w) => w.kind);
  }

  private upsert(kind: ResourceKind, obj: KeyedObject): void {
    const r = VALIDATE[kind](obj);
    if (r.status === 'valid') {
      this.store.set(kind, r.key, r.object);
      this.changed();
      return;
    }
    const key = objectKey(kind, obj);
    const kept = this.store.get(kind, key) !== undefined;
    this.report(new SourceError(kind, 'invalid_object', 'ERR_K8S_INVALID_OBJECT', `${r.reason}; ${kept ? 'keeping its last good version' : 'skipped'}`, {
      subject: `${kind}/${key}`, context: { resourceVersion: obj.metadata.resourceVersion },
    }));
  }
}

/** ClusterState's key: "namespace/name", Nodes by name. */
export function objectKey(kind: ResourceKind, obj: KeyedObject): string {
  return kind === 'nodes' ? obj.metadata.name : `${obj.metadata.namespace || 'default'}/${obj.metadata.name}`;
}
