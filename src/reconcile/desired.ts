/**
 * The desired datapath state, from a Plan: pure, no ids, no kernel. What the
 * reconciler writes is this plus stable ids (reconciler.ts), so everything
 * about *what* is programmed can be tested here without root.
 *
 * Shapes:
 * - per **service** ("namespace/name"), independent of every other service,
 *   so a change to one service is recomputed and applied alone;
 * - one **frontend** per plan frontend (an lb4_services entry, its revnat entry);
 * - one **group** per backend set (plan's backendSetKey: service port, family,
 *   traffic scope): a service id, one Maglev table, the source ranges. The
 *   frontends of a service port that see the same backends (ClusterIP,
 *   NodePorts, LoadBalancer and external IPs under the same policy) share it,
 *   so a Service costs one table, not one per frontend, and ClientIP affinity
 *   is per service port like kube-proxy's;
 * - a **backend** ({address, port, protocol}) is one lb4_backends entry,
 *   shared by every group that lists it;
 * - every known **node** (node id -> address): the Geneve destination of its
 *   backends and the set of addresses allowed to send Geneve to this node.
 *
 * Only IPv4 is programmed (the maps are IPv4): IPv6 frontends are left out
 * with a warning. A backend whose node is unknown (no nodeName, or a node
 * without an IPv4 address) cannot be reached through Geneve and is left out
 * of its table, with a warning.
 */
import {
  DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_SVC_F_AFFINITY, DSRLB_SVC_F_NOEP_DROP, DSRLB_SVC_F_NOEP_REJECT,
  DSRLB_SVC_F_SOCKET_ONLY, DSRLB_SVC_F_SOURCE_RANGES, dsrlb_frontend_kind,
} from '../bpf/consts.generated.js';
import { backendSetKey } from '../plan/keys.js';
import { backendKey, backendName, frontendKey, PROTOCOL_NUMBERS, type FrontendKey } from '../model/keys.js';
import { ipv4Value } from '../net/ip.js';
import type { Frontend, FrontendKind, Plan, Protocol } from '../plan/types.js';
import type {
  DesiredBackend, DesiredFrontend, DesiredGroup, DesiredState, DesiredWarning, ServiceDesired, SourceRange,
} from './desired-types.js';
import { samePlanBackends } from './equality.js';
import { maglevTableSize } from './maglev.js';
import { nodeIdForAddress } from './node-ids.js';

/** lb4_service.kind of each frontend kind. */
export const FRONTEND_KIND_CODES: Readonly<Record<FrontendKind, number>> = {
  ClusterIP: dsrlb_frontend_kind.DSRLB_KIND_CLUSTER_IP,
  NodePort: dsrlb_frontend_kind.DSRLB_KIND_NODE_PORT,
  LoadBalancer: dsrlb_frontend_kind.DSRLB_KIND_LOAD_BALANCER,
  ExternalIP: dsrlb_frontend_kind.DSRLB_KIND_EXTERNAL_IP,
};

/** What most services have none of (warnings, source ranges), shared: a reconciler keeps every service's desired state. */
const NONE: readonly never[] = Object.freeze([]);

/** lb4_service.backend_count is a __u16. */
const MAX_BACKEND_COUNT = 0xffff;

export interface DesiredInput {
  readonly plan: Plan;
  /** This node: backends whose nodeName is `name` are local; `address` is its IPv4 (its node id). */
  readonly localNode: { readonly name: string; readonly address: string };
  /** IPv4 address of every node, by node name (this node may be included or not). */
  readonly nodeAddresses: ReadonlyMap<string, string>;
}

export interface DesiredOptions {
  /** --maglev-table-size: the largest table (default DSRLB_MAGLEV_DEFAULT_SIZE). */
  readonly maglevMaxSize?: number;
}

/** What building one service needs to know about the cluster. */
export interface DesiredContext {
  readonly nodeIdByName: ReadonlyMap<string, number>;
  readonly maglevMaxSize: number;
}


/** Node ids by name and by id, from every node's address and this node's. */
export function desiredNodes(localNode: DesiredInput['localNode'], nodeAddresses: ReadonlyMap<string, string>): {
  byId: Map<number, string>; idByName: Map<string, number>;
} {
  const byId = new Map<number, string>();
  const idByName = new Map<string, number>();
  for (const [name, address] of nodeAddresses) {
    if (ipv4Value(address) < 0) continue;
    const id = nodeIdForAddress(address);
    byId.set(id, address);
    idByName.set(name, id);
  }
  const localId = nodeIdForAddress(localNode.address);
  byId.set(localId, localNode.address);
  idByName.set(localNode.name, localId);
  return { byId, idByName };
}

/** The plan's frontends by service, in plan order. */
export function frontendsByService(frontends: readonly Frontend[]): Map<string, Frontend[]> {
  const out = new Map<string, Frontend[]>();
  for (const f of frontends) {
    const list = out.get(f.service);
    if (list) list.push(f);
    else out.set(f.service, [f]);
  }
  return out;
}

function parseCidr(cidr: string): SourceRange | null {
  const slash = cidr.indexOf('/');
  const address = slash < 0 ? cidr : cidr.slice(0, slash);
  const prefixLength = slash < 0 ? 32 : Number(cidr.slice(slash + 1));
  if (ipv4Value(address) < 0 || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) return null;
  return { address, prefixLength };
}

/** Plan addresses are validated already: telling the families apart is enough. */
function isV4(address: string): boolean {
  return !address.includes(':');
}

const byName = (a: DesiredBackend, b: DesiredBackend): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** One service's frontends (all with `f.service === service`) -> what it needs programmed. */
export function buildServiceDesired(service: string, frontends: readonly Frontend[], ctx: DesiredContext): ServiceDesired {
  const warnings: DesiredWarning[] = [];
  const warn = (message: string): void => {
    if (!warnings.some((w) => w.message === message)) warnings.push({ service, message });
  };

  interface Draft { key: string; protocol: Protocol; backends: Frontend['backends']; ranges: SourceRange[] | null }
  const variants = new Map<string, Draft[]>();
  const drafts: Draft[] = [];
  const placed: [Frontend, Draft][] = [];
  for (const f of frontends) {
    if (!isV4(f.address)) {
      warn('IPv6 frontends are not programmed (the datapath is IPv4)');
      continue;
    }
    const base = backendSetKey(f);
    let list = variants.get(base);
    if (!list) {
      list = [];
      variants.set(base, list);
    }
    let draft = list.find((d) => samePlanBackends(d.backends, f.backends));
    if (!draft) {
      // Frontends of one backend set are meant to agree; if not, each variant gets its own table.
      if (list.length > 0) warn(`frontends of port '${f.servicePort}' disagree on backends: ${f.kind} ${f.address}:${f.port} gets its own table`);
      draft = { key: list.length === 0 ? base : `${base}#${list.length}`, protocol: f.protocol, backends: f.backends, ranges: null };
      list.push(draft);
      drafts.push(draft);
    }
    for (const cidr of f.sourceRanges ?? []) {
      const r = parseCidr(cidr);
      if (!r) {
        warn(`source range '${cidr}' is not an IPv4 CIDR: ignored`);
        continue;
      }
      draft.ranges ??= [];
      if (!draft.ranges.some((x) => x.address === r.address && x.prefixLength === r.prefixLength)) draft.ranges.push(r);
    }
    placed.push([f, draft]);
  }

  const groups: DesiredGroup[] = [];
  const groupByDraft = new Map<Draft, DesiredGroup>();
  for (const d of drafts) {
    const proto = PROTOCOL_NUMBERS[d.protocol];
    const members: DesiredBackend[] = [];
    const seen = new Set<string>();
    for (const b of d.backends) {
      if (!isV4(b.address)) continue;
      const nodeId = b.nodeName === null ? undefined : ctx.nodeIdByName.get(b.nodeName);
      if (nodeId === undefined) {
        warn(b.nodeName === null
          ? `backend ${b.address}:${b.port} has no nodeName: left out (its node is the Geneve destination)`
          : `backend ${b.address}:${b.port} is on node '${b.nodeName}', which has no known IPv4 address: left out`);
        continue;
      }
      const name = backendName(b.address, b.port);
      if (seen.has(name)) continue;
      seen.add(name);
      members.push({ key: backendKey(b.address, b.port, proto), name, address: b.address, port: b.port, proto, nodeId });
    }
    members.sort(byName);
    if (members.length > MAX_BACKEND_COUNT) warn(`${members.length} backends: the datapath counts at most ${MAX_BACKEND_COUNT}`);
    const ranges = d.ranges ?? NONE;
    if (d.ranges) d.ranges.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.prefixLength - b.prefixLength));
    const g: DesiredGroup = {
      key: d.key,
      backends: members,
      maglevSize: members.length === 0 ? 0 : maglevTableSize(members.length, ctx.maglevMaxSize),
      sourceRanges: ranges,
    };
    groups.push(g);
    groupByDraft.set(d, g);
  }

  const out: DesiredFrontend[] = [];
  const clusterIps = clusterIpsByPort(placed);
  for (const [f, draft] of placed) {
    const group = groupByDraft.get(draft) as DesiredGroup;
    const count = Math.min(group.backends.length, MAX_BACKEND_COUNT);
    let flags = 0;
    if (f.sessionAffinityTimeoutSeconds !== null) flags |= DSRLB_SVC_F_AFFINITY;
    if (f.sourceRanges !== null) flags |= DSRLB_SVC_F_SOURCE_RANGES;
    if (f.noEndpointsAction === 'reject') flags |= DSRLB_SVC_F_NOEP_REJECT;
    else if (f.noEndpointsAction === 'drop') flags |= DSRLB_SVC_F_NOEP_DROP;
    // Endpoints exist but none is reachable from here: answer like "no endpoints" rather than a silent drop.
    else if (count === 0) flags |= DSRLB_SVC_F_NOEP_REJECT;
    const proto = PROTOCOL_NUMBERS[f.protocol];
    const clusterIp = f.kind === 'ClusterIP' ? undefined : clusterIps.get(servicePortKey(f));
    out.push({
      key: frontendKey(f.address, f.port, proto),
      lbKey: { address: f.address, port: f.port, proto },
      groupKey: draft.key,
      kind: f.kind,
      flags,
      affinityTimeout: f.sessionAffinityTimeoutSeconds ?? 0,
      backendCount: count,
      internalFrontend: clusterIp && clusterIp.groupKey !== draft.key ? clusterIp.key : null,
    });
  }
  out.push(...nodePortWildcards(out));
  return { service, frontends: out, groups, warnings: warnings.length > 0 ? warnings : NONE };
}

function servicePortKey(f: Frontend): string {
  return `${f.servicePort}|${f.protocol}`;
}

/** Each service port's IPv4 ClusterIP frontend: its key and group. */
function clusterIpsByPort(placed: readonly (readonly [Frontend, { readonly key: string }])[]): Map<string, { key: FrontendKey; groupKey: string }> {
  const out = new Map<string, { key: FrontendKey; groupKey: string }>();
  for (const [f, draft] of placed) {
    if (f.kind === 'ClusterIP') out.set(servicePortKey(f), { key: frontendKey(f.address, f.port, PROTOCOL_NUMBERS[f.protocol]), groupKey: draft.key });
  }
  return out;
}

/**
 * The socket hooks reach a NodePort on every node's address, not only this
 * node's (docs/datapath.md, "Socket LB"): one socket-only {0.0.0.0, nodePort}
 * entry per NodePort, with the backends in-cluster clients get (its
 * ClusterIP's when `internalFrontend` names it).
 */
function nodePortWildcards(frontends: readonly DesiredFrontend[]): DesiredFrontend[] {
  const byKey = new Map(frontends.map((f) => [f.key, f]));
  const out = new Map<FrontendKey, DesiredFrontend>();
  for (const f of frontends) {
    if (f.kind !== 'NodePort') continue;
    const key = frontendKey('0.0.0.0', f.lbKey.port, f.lbKey.proto);
    if (out.has(key)) continue;
    const internal = (f.internalFrontend === null ? undefined : byKey.get(f.internalFrontend)) ?? f;
    out.set(key, {
      ...internal,
      key,
      lbKey: { address: '0.0.0.0', port: f.lbKey.port, proto: f.lbKey.proto },
      kind: 'NodePort',
      flags: (internal.flags & ~DSRLB_SVC_F_SOURCE_RANGES) | DSRLB_SVC_F_SOCKET_ONLY,
      internalFrontend: null,
    });
  }
  return [...out.values()];
}

export function desiredContext(idByName: ReadonlyMap<string, number>, opts: DesiredOptions = {}): DesiredContext {
  return { nodeIdByName: idByName, maglevMaxSize: opts.maglevMaxSize ?? DSRLB_MAGLEV_DEFAULT_SIZE };
}

export function buildDesiredState(input: DesiredInput, opts: DesiredOptions = {}): DesiredState {
  const nodes = desiredNodes(input.localNode, input.nodeAddresses);
  const ctx = desiredContext(nodes.idByName, opts);
  const services = new Map<string, ServiceDesired>();
  for (const [service, frontends] of frontendsByService(input.plan.frontends)) {
    services.set(service, buildServiceDesired(service, frontends, ctx));
  }
  return { services, nodes: nodes.byId };
}

// ---- views across services (tests, lbctl) ------------------------------------

export function allFrontends(d: DesiredState): Map<string, DesiredFrontend> {
  const out = new Map<string, DesiredFrontend>();
  for (const s of d.services.values()) for (const f of s.frontends) out.set(f.key, f);
  return out;
}

export function allGroups(d: DesiredState): Map<string, DesiredGroup> {
  const out = new Map<string, DesiredGroup>();
  for (const s of d.services.values()) for (const g of s.groups) out.set(g.key, g);
  return out;
}

export function allBackends(d: DesiredState): Map<string, DesiredBackend> {
  const out = new Map<string, DesiredBackend>();
  for (const s of d.services.values()) for (const g of s.groups) for (const b of g.backends) if (!out.has(b.key)) out.set(b.key, b);
  return out;
}

export function allWarnings(d: DesiredState): DesiredWarning[] {
  return [...d.services.values()].flatMap((s) => s.warnings);
}
