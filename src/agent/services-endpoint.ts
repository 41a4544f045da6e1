/**
 * GET /v1/services on --health-addr: the frontends of the agent's last
 * complete sync with their Services' names, traffic policies and backends'
 * node names, and every node's address: what the maps do not hold, for
 * `lbctl service list` to join with them. Read-only.
 */
import type { Frontend } from '../plan/types.js';

export const SERVICES_PATH = '/v1/services';

/** What the agent served at its last complete sync. */
export interface ServedPlan {
  readonly frontends: readonly Frontend[];
  /** This node's name and address. */
  readonly node: { readonly name: string; readonly address: string };
  /** IPv4 of every node by name. */
  readonly nodeAddresses: ReadonlyMap<string, string>;
  /** Date.now() of the sync. */
  readonly syncedAt: number;
}

/** The body of /v1/services (docs/design.md §4); `frontends` empty before the first sync. */
export interface ServicesBody {
  readonly syncedAt: string | null;
  readonly node: { readonly name: string; readonly address: string } | null;
  readonly nodes: Readonly<Record<string, string>>;
  readonly frontends: readonly Frontend[];
}

export function servicesBody(served: ServedPlan | undefined): ServicesBody {
  if (!served) return { syncedAt: null, node: null, nodes: {}, frontends: [] };
  return {
    syncedAt: new Date(served.syncedAt).toISOString(),
    node: served.node,
    nodes: Object.fromEntries([...served.nodeAddresses, [served.node.name, served.node.address]]),
    frontends: served.frontends,
  };
}

/** The health server's extra routes: path -> JSON body. */
export function servicesRoutes(served: () => ServedPlan | undefined): Record<string, () => unknown> {
  return { [SERVICES_PATH]: () => servicesBody(served()) };
}
