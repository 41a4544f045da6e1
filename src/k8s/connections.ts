/**
 * A KubeConfig that owns every connection made through it, so that stopping
 * the source really closes everything. client-node 1.4's ListWatch.stop()
 * only aborts a watch whose response headers have arrived; a request still
 * connecting would otherwise go on to open a watch nobody listens to.
 * It also bounds the wait for response headers (node-fetch's `timeout`), so a
 * black-holed API server turns into an error and a retry, not a hang, and
 * spaces watch requests out: client-node reopens a watch that ended cleanly
 * at once, so a server that accepts and closes would be hammered in a loop.
 */
import type { Agent as HttpAgent } from 'node:http';
import type { RequestOptions } from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { DsrlbError } from '../errors.js';

type FetchInit = Awaited<ReturnType<KubeConfig['applyToFetchOptions']>>;

export interface OwnedKubeConfigOptions {
  /** Wait for a watch's response headers. */
  readonly headersTimeoutMs: number;
  /** Least time between two watch requests. */
  readonly minWatchIntervalMs: number;
  /** Called as each watch request starts (after the spacing). */
  readonly onWatchRequest?: () => void;
}

export class OwnedKubeConfig extends KubeConfig {
  /** agent -> when it was handed out */
  private readonly agents = new Map<HttpAgent, number>();
  private closed = false;
  private lastWatchAt = -Infinity;

  /** A copy of `from` (its clusters, users and contexts). */
  constructor(from: KubeConfig, private readonly options: OwnedKubeConfigOptions) {
    super();
    this.loadFromOptions({ clusters: from.getClusters(), users: from.getUsers(), contexts: from.getContexts(), currentContext: from.getCurrentContext() });
  }

  /**
   * Used by client-node's Watch for every watch request. It must not throw:
   * Watch calls it outside its try block, and on a reconnect nobody awaits
   * that promise (an unhandled rejection). A failure is handed to node-fetch
   * as an agent that throws, which Watch does catch and reports as an error.
   */
  override async applyToFetchOptions(opts: RequestOptions): Promise<FetchInit> {
    try {
      const wait = this.lastWatchAt + this.options.minWatchIntervalMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      this.lastWatchAt = performance.now();
      this.assertOpen();
      this.options.onWatchRequest?.();
      const init = await super.applyToFetchOptions(opts);
      this.assertOpen();
      if (isAgent(init.agent)) this.own(init.agent);
      return { ...init, timeout: this.options.headersTimeoutMs };
    } catch (e) {
      return { agent: () => { throw e; } };
    }
  }

  /** Options (agent, auth headers) for a plain node:http(s) request; the agent is owned. */
  async requestOptions(): Promise<RequestOptions> {
    this.assertOpen();
    const opts: RequestOptions = {};
    await this.applyToHTTPSOptions(opts);
    this.assertOpen();
    if (isAgent(opts.agent)) this.own(opts.agent);
    return opts;
  }

  get server(): string {
    return this.getCurrentCluster()?.server ?? '';
  }

  /** Destroys every socket and refuses new requests. */
  close(): void {
    this.closed = true;
    for (const a of this.agents.keys()) a.destroy();
    this.agents.clear();
  }

  private own(agent: HttpAgent): void {
    // client-node makes an agent per request: forget the ones with nothing
    // open, once they are old enough to have started their request.
    const now = performance.now();
    for (const [a, at] of this.agents) if (now - at > 1000 && idle(a)) this.agents.delete(a);
    this.agents.set(agent, now);
  }

  private assertOpen(): void {
    if (this.closed) throw new DsrlbError('ERR_K8S_CLOSED', 'the Kubernetes source is stopped', { subject: this.server });
  }
}

function isAgent(a: unknown): a is HttpAgent {
  return typeof a === 'object' && a !== null && typeof (a as HttpAgent).destroy === 'function';
}

function idle(a: HttpAgent): boolean {
  const busy = (r: Record<string, unknown[] | undefined>): boolean => Object.values(r).some((l) => (l?.length ?? 0) > 0);
  return !busy(a.sockets) && !busy(a.requests) && !busy(a.freeSockets);
}
