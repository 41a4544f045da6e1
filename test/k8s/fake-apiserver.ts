/**
 * An in-process Kubernetes API server for the three resources dsrlb watches,
 * speaking the real list/watch wire protocol (docs/design.md §5), and able to
 * misbehave on demand: 500s, dropped or silent watches, 410 Gone, a malformed
 * line, going away and coming back on the same port.
 *
 * Semantics copied from the real server:
 * - one resourceVersion counter for everything (etcd's revision);
 * - list items carry no kind/apiVersion, watch event objects do, and come in
 *   key order (namespace/name);
 * - `limit` pages a list: `metadata.continue` (opaque) asks for the next page
 *   and is absent on the last one; `remainingItemCount` counts what is left.
 *   Every page is cut from the snapshot the first page was (etcd serves the
 *   continuation at the first page's revision), so each carries its
 *   resourceVersion. A continue token expires, 410 with reason Expired, once
 *   compact() has passed that revision (the cluster changed and etcd
 *   compacted while the client was paging);
 * - watch without resourceVersion (or "0") starts with synthetic ADDED events;
 * - watch from a compacted resourceVersion answers 200 then an ERROR event
 *   with a 410 Status, and closes (the watch cache's behaviour);
 * - BOOKMARK events only for watches that asked (allowWatchBookmarks=true);
 * - timeoutSeconds closes the watch cleanly.
 *
 * Optionally as a cluster serves a pod (ServeOptions): over TLS, a bearer
 * token checked (401 otherwise), and a ClusterRole's rules enforced (403 with
 * the real message for anything outside them).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { allows, forbiddenMessage, type PolicyRule } from './rbac.js';

export type Resource = 'services' | 'endpointslices' | 'nodes';
export type Verb = 'list' | 'watch';

interface ResourceInfo {
  readonly kind: string;
  readonly apiVersion: string;
  readonly prefix: string;
  readonly namespaced: boolean;
}

const RESOURCES: Readonly<Record<Resource, ResourceInfo>> = {
  services: { kind: 'Service', apiVersion: 'v1', prefix: '/api/v1', namespaced: true },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', prefix: '/apis/discovery.k8s.io/v1', namespaced: true },
  nodes: { kind: 'Node', apiVersion: 'v1', prefix: '/api/v1', namespaced: false },
};

const PATH = /^(\/api\/v1|\/apis\/discovery\.k8s\.io\/v1)(?:\/namespaces\/([^/]+))?\/(services|endpointslices|nodes)$/;

/** What a test hands in: anything with a name (typed objects like V1Service fit). */
export interface ObjectInput {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
}

type Obj = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string; namespace?: string; resourceVersion: string } };

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface HistoryEvent {
  readonly rv: number;
  readonly resource: Resource;
  readonly type: EventType;
  readonly object: Obj;
}

interface Watcher {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly bookmarks: boolean;
  readonly res: ServerResponse;
  readonly socket: Socket;
  timer: NodeJS.Timeout | undefined;
}

export interface RequestRecord {
  readonly resource: Resource;
  readonly verb: Verb;
  readonly namespace: string | undefined;
  readonly query: Readonly<Record<string, string>>;
}

/** The items a paged list is cut from, kept until compact() passes its revision (etcd keeps old revisions until then). */
interface Snapshot {
  readonly resource: Resource;
  readonly namespace: string | undefined;
  readonly rv: number;
  readonly items: readonly Record<string, unknown>[];
}

/** What a continue token stands for (the real one holds the revision and the next key). */
interface ContinueToken { readonly snapshot: number; readonly rv: number; readonly offset: number }

export interface FaultRule {
  readonly resource?: Resource;
  readonly verb?: Verb;
  /** HTTP status to answer with (default 500). */
  readonly status?: number;
  /** How many matching requests fail (default 1). */
  readonly times?: number;
  /** Only list requests with a continue token (true: a list's later pages) or without one (false). */
  readonly continued?: boolean;
}

export interface ServeOptions {
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** PEM key and certificate: serve https. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** Only this bearer token is accepted, and only for what the rules allow. */
  readonly auth?: { readonly token: string; readonly user: string; readonly rules: readonly PolicyRule[] };
}

export interface Refusal { readonly status: 401 | 403; readonly verb: Verb; readonly resource: Resource; readonly message: string }

export class FakeApiServer {
  private readonly server: Server;
  private port: number;
  private readonly host: string;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly store: Record<Resource, Map<string, Obj>> = { services: new Map(), endpointslices: new Map(), nodes: new Map() };
  private history: HistoryEvent[] = [];
  private rv = 1;
  private compactedRv = 0;
  private faults: { rule: FaultRule; left: number }[] = [];
  private readonly snapshots = new Map<number, Snapshot>();
  private nextSnapshot = 1;
  private silent = false;
  private flapping = false;
  private listening = false;
  /** Every list/watch request, in order. */
  readonly requests: RequestRecord[] = [];
  /** Requests refused by authentication or RBAC (ServeOptions.auth). */
  readonly refused: Refusal[] = [];
  /** Called as each list request arrives, before it is answered: a test's chance to change the cluster between pages. */
  beforeList: ((request: RequestRecord) => void) | undefined;

  private constructor(private readonly options: ServeOptions) {
    this.port = options.port ?? 0;
    this.host = options.host ?? '127.0.0.1';
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.handle(req, res);
    this.server = options.tls ? createTlsServer({ key: options.tls.key, cert: options.tls.cert }, handler) : createServer(handler);
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  /** Serves on 127.0.0.1, an ephemeral port unless given. */
  static async start(portOrOptions: number | ServeOptions = 0): Promise<FakeApiServer> {
    const api = new FakeApiServer(typeof portOrOptions === 'number' ? { port: portOrOptions } : portOrOptions);
    await api.comeBack();
    return api;
  }

  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.host}:${this.port}`;
  }

  get listeningPort(): number {
    return this.port;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  // ---- objects -----------------------------------------------------------

  /** Creates or replaces an object (ADDED or MODIFIED); returns it as stored. */
  put(resource: Resource, input: ObjectInput | Record<string, unknown>): Obj {
    const obj = this.normalise(resource, input);
    const key = keyOf(obj);
    const existed = this.store[resource].has(key);
    obj.metadata.resourceVersion = String(++this.rv);
    this.store[resource].set(key, obj);
    this.publish({ rv: this.rv, resource, type: existed ? 'MODIFIED' : 'ADDED', object: obj });
    return obj;
  }

  /** Deletes an object (DELETED, carrying a new resourceVersion); false if absent. */
  remove(resource: Resource, namespace: string | undefined, name: string): boolean {
    const key = namespace ? `${namespace}/${name}` : name;
    const old = this.store[resource].get(key);
    if (!old) return false;
    this.store[resource].delete(key);
    const gone: Obj = { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } };
    this.publish({ rv: this.rv, resource, type: 'DELETED', object: gone });
    return true;
  }

  get(resource: Resource, key: string): Obj | undefined {
    return this.store[resource].get(key);
  }

  /** Forgets history up to now: a watch resuming from an older resourceVersion, or a list continuing from one, gets 410. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
    for (const [id, snap] of this.snapshots) if (snap.rv < this.compactedRv) this.snapshots.delete(id);
  }

  // ---- watch-level behaviour ----------------------------------------------

  /** A BOOKMARK at the current resourceVersion to every watch that asked for them. */
  bookmark(resource?: Resource): number {
    let sent = 0;
    for (const w of this.watching(resource)) {
      if (!w.bookmarks) continue;
      const info = RESOURCES[w.resource];
      write(w, { type: 'BOOKMARK', object: { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(this.rv) } } });
      sent++;
    }
    return sent;
  }

  /** One raw line (need not be JSON) to every watch of the resource. */
  sendRaw(resource: Resource, line: string): number {
    const ws = [...this.watching(resource)];
    for (const w of ws) w.res.write(`${line}\n`);
    return ws.length;
  }

  /** An event with any object at all, without touching the store (a broken server). */
  sendEvent(resource: Resource, type: string, object: unknown): number {
    const ws = [...this.watching(resource)];
    for (const w of ws) write(w, { type, object });
    return ws.length;
  }

  /** ERROR 410 Expired to open watches, then close them (the watch cache dropping them). */
  expireWatches(resource?: Resource): number {
    const ws = [...this.watching(resource)];
    for (const w of ws) {
      write(w, { type: 'ERROR', object: status(410, 'Expired', 'too old resource version') });
      this.endWatch(w);
    }
    return ws.length;
  }

  /** Ends open watches cleanly, as when timeoutSeconds runs out. */
  endWatches(resource?: Resource): number {
    const ws = [...this.watching(resource)];
    for (const w of ws) this.endWatch(w);
    return ws.length;
  }

  /** Cuts open watch connections mid-stream (RST), as a crashing server would. */
  dropWatches(resource?: Resource): number {
    const ws = [...this.watching(resource)];
    for (const w of ws) {
      this.forget(w);
      w.socket.destroy();
    }
    return ws.length;
  }

  /** While on, watches get nothing at all (no events, no timeout): a black hole. */
  silence(on: boolean): void {
    this.silent = on;
  }

  /** While on, every watch is accepted and ended at once (a flapping proxy in front). */
  flap(on: boolean): void {
    this.flapping = on;
  }

  /** The next matching requests answer with an error status. */
  failNext(rule: FaultRule = {}): void {
    this.faults.push({ rule, left: rule.times ?? 1 });
  }

  clearFaults(): void {
    this.faults = [];
  }

  watcherCount(resource?: Resource): number {
    return [...this.watching(resource)].length;
  }

  requestCount(resource: Resource, verb: Verb): number {
    return this.requests.filter((r) => r.resource === resource && r.verb === verb).length;
  }

  // ---- availability ---------------------------------------------------------

  /** Stops listening and cuts every connection; the port stays reserved for comeBack(). */
  async goAway(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    for (const w of [...this.watchers]) this.forget(w);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Listens again on the same port. */
  async comeBack(): Promise<void> {
    if (this.listening) return;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
    this.listening = true;
  }

  async close(): Promise<void> {
    await this.goAway();
  }

  // ---- HTTP -----------------------------------------------------------------

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const m = PATH.exec(url.pathname);
    const resource = m?.[3] as Resource | undefined;
    if (!m || !resource || RESOURCES[resource].prefix !== m[1] || (m[2] !== undefined && !RESOURCES[resource].namespaced)) {
      sendStatus(res, 404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
      return;
    }
    if (req.method !== 'GET') {
      sendStatus(res, 405, 'MethodNotAllowed', `${req.method ?? '?'} is not supported here`);
      return;
    }
    const query = Object.fromEntries(url.searchParams);
    const verb: Verb = query.watch === 'true' || query.watch === '1' ? 'watch' : 'list';
    const namespace = m[2];
    const record: RequestRecord = { resource, verb, namespace, query };
    if (!this.authorized(req, res, record)) return;
    this.requests.push(record);
    if (verb === 'list') this.beforeList?.(record);

    const continued = verb === 'list' && (query.continue ?? '') !== '';
    const fault = this.faults.find((f) => f.left > 0 && (f.rule.resource ?? resource) === resource && (f.rule.verb ?? verb) === verb
      && (f.rule.continued ?? continued) === continued);
    if (fault) {
      fault.left--;
      this.faults = this.faults.filter((f) => f.left > 0);
      const code = fault.rule.status ?? 500;
      sendStatus(res, code, code === 500 ? 'InternalError' : 'Failure', `injected fault ${code}`);
      return;
    }
    if (verb === 'list') this.list(res, resource, namespace, query);
    else this.watch(req, res, resource, namespace, query);
  }

  private list(res: ServerResponse, resource: Resource, namespace: string | undefined, query: Record<string, string>): void {
    const info = RESOURCES[resource];
    const from = this.listFrom(resource, namespace, query.continue ?? '');
    if ('error' in from) {
      sendStatus(res, from.error.code, from.error.reason, from.error.message);
      return;
    }
    const { id, snap, offset } = from;
    const limit = Number(query.limit ?? 0);
    const end = Number.isInteger(limit) && limit > 0 ? Math.min(offset + limit, snap.items.length) : snap.items.length;
    const metadata: Record<string, unknown> = { resourceVersion: String(snap.rv) };
    if (end < snap.items.length) {
      this.snapshots.set(id, snap);
      const token: ContinueToken = { snapshot: id, rv: snap.rv, offset: end };
      metadata.continue = Buffer.from(JSON.stringify(token)).toString('base64url');
      metadata.remainingItemCount = snap.items.length - end;
    }
    sendJson(res, 200, { kind: `${info.kind}List`, apiVersion: info.apiVersion, metadata, items: snap.items.slice(offset, end) });
  }

  /** Where a list page starts: a new snapshot of the store, or the one a continue token points into. */
  private listFrom(resource: Resource, namespace: string | undefined, token: string):
    { id: number; snap: Snapshot; offset: number } | { error: { code: number; reason: string; message: string } } {
    if (token === '') {
      const items = [...this.store[resource].entries()]
        .filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, { kind: _k, apiVersion: _a, ...rest }]) => rest);
      return { id: this.nextSnapshot++, snap: { resource, namespace, rv: this.rv, items }, offset: 0 };
    }
    const c = parseContinue(token);
    const snap = c && this.snapshots.get(c.snapshot);
    if (c && c.rv < this.compactedRv) {
      return { error: { code: 410, reason: 'Expired', message: 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.' } };
    }
    if (!c || !snap || snap.resource !== resource || snap.namespace !== namespace) {
      return { error: { code: 400, reason: 'BadRequest', message: 'continue key is not valid' } };
    }
    return { id: c.snapshot, snap, offset: c.offset };
  }

  private watch(req: IncomingMessage, res: ServerResponse, resource: Resource, namespace: string | undefined, query: Record<string, string>): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = { resource, namespace, bookmarks: query.allowWatchBookmarks === 'true', res, socket: req.socket, timer: undefined };

    if (this.flapping) {
      res.end();
      return;
    }
    const from = query.resourceVersion ?? '';
    if (from !== '' && from !== '0' && Number(from) < this.compactedRv) {
      write(w, { type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) });
      res.end();
      return;
    }
    this.watchers.add(w);
    req.once('close', () => this.forget(w));
    if (this.silent) return;

    if (from === '' || from === '0') {
      for (const o of this.store[resource].values()) if (matches(w, o)) write(w, { type: 'ADDED', object: o });
    } else {
      for (const e of this.history) if (e.rv > Number(from) && e.resource === resource && matches(w, e.object)) write(w, { type: e.type, object: e.object });
    }
    const timeout = Number(query.timeoutSeconds ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.endWatch(w), timeout * 1000);
  }

  /** Authentication, then RBAC, as the real server orders them; false when it answered already. */
  private authorized(req: IncomingMessage, res: ServerResponse, r: RequestRecord): boolean {
    const auth = this.options.auth;
    if (!auth) return true;
    if (req.headers.authorization !== `Bearer ${auth.token}`) {
      this.refused.push({ status: 401, verb: r.verb, resource: r.resource, message: 'Unauthorized' });
      sendStatus(res, 401, 'Unauthorized', 'Unauthorized');
      return false;
    }
    const rbac = { verb: r.verb, apiGroup: RESOURCES[r.resource].apiVersion.includes('/') ? RESOURCES[r.resource].apiVersion.split('/')[0] ?? '' : '', resource: r.resource };
    if (allows(auth.rules, rbac)) return true;
    const message = forbiddenMessage(auth.user, rbac);
    this.refused.push({ status: 403, verb: r.verb, resource: r.resource, message });
    sendStatus(res, 403, 'Forbidden', message);
    return false;
  }

  // ---- internals ------------------------------------------------------------

  private normalise(resource: Resource, input: ObjectInput | Record<string, unknown>): Obj {
    const copy = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
    const meta = (copy.metadata ?? {}) as Record<string, unknown>;
    if (typeof meta.name !== 'string' || meta.name === '') throw new Error('fake apiserver: an object needs metadata.name');
    const info = RESOURCES[resource];
    if (info.namespaced && typeof meta.namespace !== 'string') meta.namespace = 'default';
    const key = info.namespaced ? `${String(meta.namespace)}/${meta.name}` : meta.name;
    meta.uid ??= `uid-${resource}-${key}`;
    return { ...copy, kind: info.kind, apiVersion: info.apiVersion, metadata: meta } as unknown as Obj;
  }

  private publish(e: HistoryEvent): void {
    this.history.push(e);
    if (this.silent) return;
    for (const w of this.watching(e.resource)) if (matches(w, e.object)) write(w, { type: e.type, object: e.object });
  }

  private *watching(resource?: Resource): Iterable<Watcher> {
    for (const w of this.watchers) if (resource === undefined || w.resource === resource) yield w;
  }

  private endWatch(w: Watcher): void {
    this.forget(w);
    w.res.end();
  }

  private forget(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
  }
}

function parseContinue(token: string): ContinueToken | undefined {
  try {
    const c = JSON.parse(Buffer.from(token, 'base64url').toString()) as Partial<ContinueToken>;
    return typeof c.snapshot === 'number' && typeof c.rv === 'number' && typeof c.offset === 'number' ? c as ContinueToken : undefined;
  } catch {
    return undefined;
  }
}

function keyOf(o: Obj): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;
}

function matches(w: Watcher, o: Obj): boolean {
  return w.namespace === undefined || o.metadata.namespace === w.namespace;
}

function write(w: Watcher, event: { type: string; object: unknown }): void {
  w.res.write(`${JSON.stringify(event)}\n`);
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, code, status(code, reason, message));
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
