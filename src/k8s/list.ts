/**
 * The list half of list/watch, as plain JSON. The watch half (client-node's
 * Watch) delivers plain JSON objects; listing through the generated API
 * clients would instead hand over class instances (dates parsed, unknown
 * fields dropped, slower for 10,000 objects). Same shapes from both halves,
 * and the same shapes a manifests directory yields.
 *
 * Lists are paged the way client-go's reflector pages them (its ListPager):
 * `limit` items per request, following `metadata.continue` until it comes
 * back empty. Each page is decoded as it arrives and its body dropped, so one
 * page's bytes are alive at a time, not a whole list's (the EndpointSlice
 * list of 10,000 Services is ~25 MiB of JSON, held as buffers and then as a
 * string while it parses). Every page of a list is served from one snapshot;
 * the last page's resourceVersion is the list's, where the watch resumes.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { ResourceKind } from './cluster-store.js';
import type { OwnedKubeConfig } from './connections.js';
import { SourceError } from './source.js';

/**
 * Items asked for per page: client-go's pager default (and what the
 * reflector asks for). ~1.3 MiB per page of 10-endpoint EndpointSlices.
 */
export const LIST_PAGE_SIZE = 500;

export interface ListOptions {
  /** Each page's request, headers and body (default 60 s). */
  readonly timeoutMs?: number;
  /** Items per page, a positive integer (default LIST_PAGE_SIZE). */
  readonly pageSize?: number;
  /** Items that cannot even be keyed (no metadata.name) are dropped and reported here. */
  readonly onUnkeyable?: (error: SourceError) => void;
}

/** A keyed object: what client-node's cache needs to not throw. */
export type KeyedObject = KubernetesObject & { metadata: { name: string } };

type List = KubernetesListObject<KeyedObject>;

/** One pass over the pages: the whole list, or the 410 Expired a continue request got. */
type Pass = { readonly list: List } | { readonly expired: SourceError };

export async function listObjects(kc: OwnedKubeConfig, resource: ResourceKind, path: string, options: ListOptions = {}): Promise<List> {
  const first = await listPages(kc, resource, path, options);
  if ('list' in first) return first.list;
  // The continue token expired (410, reason Expired): the server compacted
  // past the snapshot while we were paging. client-go's pager then starts the
  // list over once, without the token (it asks for everything in one piece;
  // we keep paging, for the memory bound). Expiring again fails the list like
  // any error: the watcher retries it with backoff, and nothing in the store
  // changes until a list completes.
  const again = await listPages(kc, resource, path, options);
  if ('list' in again) return again.list;
  throw again.expired;
}

async function listPages(kc: OwnedKubeConfig, resource: ResourceKind, path: string, options: ListOptions): Promise<Pass> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const base = new URL(kc.server + path);
  base.searchParams.set('limit', String(options.pageSize ?? LIST_PAGE_SIZE));
  const fail = (message: string, page: number, statusCode: number | undefined, remedy: string, cause?: unknown): SourceError =>
    new SourceError(resource, 'list', 'ERR_K8S_LIST', message, { subject: base.href, remedy, cause, context: { statusCode, page } });

  // One agent (and its credentials) for every page of this pass.
  const opts = await kc.requestOptions();
  const items: KeyedObject[] = [];
  let seen = 0;
  let token = '';
  for (let page = 0; ; page++) {
    const url = new URL(base);
    if (token !== '') url.searchParams.set('continue', token);
    const answer = await getJson(url, opts, timeoutMs).catch((e: unknown) => {
      throw fail(`list failed: ${e instanceof Error ? e.message : String(e)}`, page, undefined, 'check that the API server is reachable (--api-server, KUBERNETES_SERVICE_HOST)', e);
    });
    const { status, json } = answer;

    if (status !== 200) {
      const s = isRecord(json) ? json : {};
      const message = `list failed: HTTP ${status}${typeof s.message === 'string' ? `: ${s.message}` : ''}`;
      if (status === 410 && s.reason === 'Expired' && token !== '') {
        return { expired: fail(message, page, status, 'the list took longer than the API server keeps its snapshot (etcd compaction): it will be retried') };
      }
      throw fail(message, page, status, remedyFor(status));
    }
    if ('notJson' in answer) throw fail('list answer is not JSON', page, status, 'check that the URL is a Kubernetes API server', answer.notJson);
    if (!isRecord(json) || !Array.isArray(json.items)) throw fail('list answer has no items', page, status, 'check that the URL is a Kubernetes API server');

    for (const item of json.items as unknown[]) {
      const index = seen++;
      if (isKeyed(item)) items.push(item);
      else {
        options.onUnkeyable?.(new SourceError(resource, 'invalid_object', 'ERR_K8S_INVALID_OBJECT', `list item ${index} has no metadata.name: skipped`, {
          subject: base.href, context: { index, page },
        }));
      }
    }
    const meta = isRecord(json.metadata) ? json.metadata : {};
    token = typeof meta.continue === 'string' ? meta.continue : '';
    if (token === '') {
      return {
        list: {
          apiVersion: typeof json.apiVersion === 'string' ? json.apiVersion : undefined,
          kind: typeof json.kind === 'string' ? json.kind : undefined,
          metadata: { resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '' },
          items,
        },
      };
    }
  }
}

/** An answer, decoded; `notJson` is the parse error when the body was not JSON (then json is undefined). */
type Answer = { readonly status: number; readonly json: unknown } | { readonly status: number; readonly json: undefined; readonly notJson: unknown };

/**
 * One GET. The body is decoded as soon as it is complete, inside the
 * response's callback: nothing but the decoded value outlives the request.
 */
function getJson(url: URL, opts: RequestOptions, timeoutMs: number): Promise<Answer> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { ...opts, method: 'GET', headers: { ...opts.headers, Accept: 'application/json' } }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        try {
          resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
        } catch (e) {
          resolve({ status, json: undefined, notJson: e });
        }
      });
      res.on('error', reject);
    });
    const timer = setTimeout(() => req.destroy(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}

export function isKeyed(o: unknown): o is KeyedObject {
  return isRecord(o) && isRecord(o.metadata) && typeof o.metadata.name === 'string' && o.metadata.name !== ''
    && (o.metadata.namespace === undefined || typeof o.metadata.namespace === 'string');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
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
