/**
 * A Source fed in-process: the real StoreSource (ClusterStore, throttled
 * hand-over, change batches with `since`), with objects put in by the
 * benchmark instead of read from an API server. Optionally runs the same
 * validation and defaulting the Kubernetes source runs on every object.
 */
import type { ResourceKind } from '../../src/k8s/cluster-store.js';
import { validateEndpointSlice, validateNode, validateService, type ValidationResult } from '../../src/k8s/manifest-validate.js';
import type { SourceOptions } from '../../src/k8s/source.js';
import { StoreSource } from '../../src/k8s/store-source.js';
import type { V1EndpointSlice, V1Node, V1Service } from '../../src/api/types.js';

const VALIDATE: Readonly<Record<ResourceKind, (raw: unknown) => ValidationResult>> = {
  services: validateService, endpointSlices: validateEndpointSlice, nodes: validateNode,
};

export interface FeedSourceOptions extends SourceOptions {
  /** Validate and default every object as KubernetesSource does (default true). */
  readonly validate?: boolean;
}

type AnyObject = V1Service | V1EndpointSlice | V1Node;

export class FeedSource extends StoreSource {
  private readonly validate: boolean;

  constructor(options: FeedSourceOptions = {}) {
    super(options);
    this.validate = options.validate ?? true;
  }

  /** An object added or modified, as an informer's ADDED/MODIFIED event. */
  put(kind: ResourceKind, key: string, obj: AnyObject): void {
    if (this.validate) {
      const r = VALIDATE[kind](obj);
      if (r.status !== 'valid') throw new Error(`${kind} ${key}: ${r.reason}`);
      this.store.set(kind, r.key, r.object as never);
    } else {
      this.store.set(kind, key, obj as never);
    }
    this.changed();
  }

  /** An object deleted. */
  remove(kind: ResourceKind, key: string): void {
    if (this.store.delete(kind, key)) this.changed();
  }

  /** Every collection listed: the first hand-over may go out. */
  listed(): void {
    this.markSynced();
  }

  protected begin(): void {}
  protected async end(): Promise<void> {}
  protected failing(): readonly string[] {
    return [];
  }
}
