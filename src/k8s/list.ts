/**
 * The list half of list/watch, as plain JSON. The watch half (client-node's
 * Watch) delivers plain JSON objects; listing through the generated API
 * clients would instead hand over class instances (dates parsed, unknown
 * fields dropped, slower for 10,000 objects). Same shapes from both halves,
 * and the same shapes a manifests directory yields.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { ResourceKind } from './cluster-store.js';
import type { OwnedKubeConfig } from './connections.js';
import { SourceError } from './source.js';

export interface ListOptions {
  /** The whole request, headers and body (default 60 s). */
  readonly timeoutMs?: number;
  /** Items that cannot even be keyed (no metadata.name) are dropped and reported here. */
  readonly onUnkeyable?: (error: SourceError) => void;
}

/** A keyed object: what client-node's cache needs to not throw. */
export type KeyedObject = KubernetesObject & { metadata: { name: string } };

export async function listObjects(
  kc: OwnedKubeConfig, resource: ResourceKind, path: string, options: ListOptions = {},
): Promise<KubernetesListObject<KeyedObject>> {
  const url = new URL(kc.server + path);
  const timeoutMs = options.timeoutMs ?? 60_000;
  const fail = (message: string, statusCode: number | undefined, remedy: string, cause?: unknown): SourceError =>
    new SourceError(resource, 'list', 'ERR_K8S_LIST', message, { subject: url.href, remedy, cause, context: { statusCode } });

  const opts = await kc.requestOptions();
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = send(url, { ...opts, method: 'GET', headers: { ...opts.headers, Accept: 'application/json' } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  }).catch((e: unknown) => {
    throw fail(`list failed: ${e instanceof Error ? e.message : String(e)}`, undefined, 'check that the API server is reachable (--api-server, KUBERNETES_SERVICE_HOST)', e);
  });

  if (status !== 200) throw fail(`list failed: HTTP ${status}${statusMessage(body)}`, status, remedyFor(status));
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw fail('list answer is not JSON', status, 'check that the URL is a Kubernetes API server', e);
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.items)) throw fail('list answer has no items', status, 'check that the URL is a Kubernetes API server');
  const meta = isRecord(parsed.metadata) ? parsed.metadata : {};

  const items: KeyedObject[] = [];
  parsed.items.forEach((item: unknown, index: number) => {
    if (isKeyed(item)) items.push(item);
    else {
      options.onUnkeyable?.(new SourceError(resource, 'invalid_object', 'ERR_K8S_INVALID_OBJECT', `list item ${index} has no metadata.name: skipped`, {
        subject: url.href, context: { index },
      }));
    }
  });
  return {
    apiVersion: typeof parsed.apiVersion === 'string' ? parsed.apiVersion : undefined,
    kind: typeof parsed.kind === 'string' ? parsed.kind : undefined,
    metadata: { resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '' },
    items,
  };
}

export function isKeyed(o: unknown): o is KeyedObject {
  return isRecord(o) && isRecord(o.metadata) && typeof o.metadata.name === 'string' && o.metadata.name !== ''
    && (o.metadata.namespace === undefined || typeof o.metadata.namespace === 'string');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Status message of an error answer, when there is one. */
function statusMessage(body: string): string {
  try {
    const s: unknown = JSON.parse(body);
    return isRecord(s) && typeof s.message === 'string' ? `: ${s.message}` : '';
  } catch {
    return '';
  }
}

export function remedyFor(status: number | undefined): string {
  switch (status) {
    case 401: return 'the credentials were refused: check the kubeconfig user or the service account token';
    case 403: return 'RBAC forbids it: grant list and watch on services, endpointslices (discovery.k8s.io) and nodes';
    case 404: return 'the API server does not serve this resource (EndpointSlice v1 needs Kubernetes >= 1.21)';
    case 429: return 'the API server is throttling: it will be retried';
    default: return 'it will be retried with backoff; check the API server if it persists';
  }
}
