/**
 * PlanCache: the plan kept up to date from a source's change batches
 * (kube-proxy's change trackers). Pure, no I/O. Each update re-plans only the
 * Services whose objects changed and returns the same PlanReport that
 * buildPlanReport(state, node, options) returns for that state, plus which
 * frontends changed, so the reconciler can write only those.
 *
 * What a change invalidates (exactly what plan.ts reads):
 * - a Service: that Service;
 * - an EndpointSlice: the Service its kubernetes.io/service-name label names
 *   now, and the one it named before (a label moved, or the slice gained the
 *   service-proxy-name/headless label and so left its Service);
 * - a Node: nothing by itself. The plan reads no Node object: topology uses
 *   the slices' hints and this node's name and zone only. This node's Node
 *   object matters through the PlanNode (addresses, zone) when the cache is
 *   given a resolver such as `(s) => resolvePlanNode(s, {name})`: on a Node
 *   change the resolver runs again, and if what planning uses of the node
 *   (name, addresses, zone) differs, every Service is planned again.
 * - conflicts (a frontend or health check port claimed by two Services goes to
 *   the first by "namespace/name", the others get a warning naming it): kept
 *   per frontend key as the ordered list of claimants, so a re-planned Service
 *   re-assembles only the Services that share a key with it.
 *
 * Identity: Services are matched to slices by the objects' own namespace and
 * name, as buildPlanReport does, not by their keys in ClusterState. Parts are
 * ordered by service name, then by ClusterState key; buildPlanReport breaks
 * that tie by map order instead, which differs only if two ClusterState
 * entries carry the same namespace/name (no source produces that).
 *
 * The returned report is a snapshot (later updates do not change it); its
 * arrays are built on first access, so an update costs O(changed Services +
 * their claimants) plus copies of the few 64-entry chunks of the report order
 * it touches, whether or not the consumer reads the whole plan. A consumer
 * that works per service uses PlanUpdate.services and frontendsOf() instead.
 * A frontend whose value did not change keeps its object, so consumers can
 * tell unchanged frontends by identity.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ClusterState } from '../api/types.js';
import { sliceServiceKey } from './endpoints.js';
import { FullSync } from '../model/full-sync.js';
import { frontendKey } from './keys.js';
import { LABEL_TOPOLOGY_ZONE } from './nodes.js';
import { servicePlanner, type ServicePlan, type ServicePlanner } from './plan.js';
import { serviceKey } from './services.js';
import type {
  Backend, Frontend, HealthCheckNodePort, Plan, PlanNode, PlanOptions, PlanReport, PlanWarning,
} from './types.js';

/** This node, or how to find it in the cluster state (it may read only `state.nodes`). */
export type PlanNodeSource = PlanNode | ((state: ClusterState) => PlanNode);

/** Keys added, modified or removed, per collection (a StateChange's `changed`). */
export interface PlanChanges {
  readonly services?: Iterable<string>;
  readonly endpointSlices?: Iterable<string>;
  readonly nodes?: Iterable<string>;
}

/** Frontends whose plan entry changed, by frontendKey. */
export interface FrontendChanges {
  /** Not in the previous plan. */
  readonly added: readonly string[];
  /** In both, with a different value (backends, owner, flags...). */
  readonly updated: readonly string[];
  /** Not in this plan any more. */
  readonly removed: readonly string[];
}

export interface PlanUpdate {
  /** Equal to buildPlanReport(state, node, options); a snapshot, its arrays built on first access. */
  readonly report: PlanReport;
  readonly frontends: FrontendChanges;
  /**
   * Services ("namespace/name", as in Frontend.service) whose list of
   * frontends in the plan changed: what to hand a reconciler that takes
   * per-service updates, with PlanCache.frontendsOf(service).
   */
  readonly services: ReadonlySet<string>;
  /** The plan's healthCheckNodePorts differ from the previous plan's. */
  readonly healthCheckNodePortsChanged: boolean;
  /** The report's warnings differ from the previous report's. */
  readonly warningsChanged: boolean;
  /** Services planned again (ClusterState keys). */
  readonly replanned: number;
  /** Everything was planned again: the first update, rebuild(), or this node changed. */
  readonly full: boolean;
}

/** One Service's plan, as the cache holds it. Re-planning makes a new one. */
interface Part {
  /** ClusterState key. */
  readonly key: string;
  /** serviceKey of the raw object: what its slices name (buildPlanReport's index key). */
  readonly identity: string;
  readonly plan: ServicePlan;
  /** frontendKey of plan.frontends[i]. */
  readonly fkeys: readonly string[];
  /** Its current contribution (set by assemble; the only mutable field). */
  assembled?: Assembled;
}

/** A Part after conflicts with other Services: what it contributes to the report. */
interface Assembled {
  readonly part: Part;
  readonly frontends: readonly Frontend[];
  readonly warnings: readonly PlanWarning[];
  readonly healthCheckNodePort: HealthCheckNodePort | null;
}

const NONE: readonly never[] = Object.freeze([]);

export class PlanCache {
  private readonly nodeSource: PlanNodeSource;
  private readonly options: PlanOptions;
  private node: PlanNode | undefined;
  private nodeSig: string | undefined;
  /** planService for the current node. */
  private planner: ServicePlanner | undefined;
  /** Shared with the rest of the pipeline (src/model/full-sync.ts); cleared here only when this cache owns it. */
  private readonly fullSync: FullSync;
  private readonly ownsFullSync: boolean;

  /** ClusterState key -> the Service's part. */
  private readonly parts = new Map<string, Part>();
  /** Parts' contributions, sorted like the report (service name, then key). */
  private order: ReportOrder;
  private readonly chunk: number;
  /** frontendKey -> parts claiming it, in report order; the first owns it. */
  private readonly claims = new Map<string, Part[]>();
  /** healthCheckNodePort -> parts claiming it, in report order. */
  private readonly portClaims = new Map<number, Part[]>();
  /** Service identity -> ClusterState keys of the Services with it (one, unless keys disagree with metadata). */
  private readonly servicesByIdentity = new Map<string, string[]>();
  /** Slice ClusterState key -> identity of the Service it belongs to (only slices that belong to one). */
  private readonly sliceOwner = new Map<string, string>();
  /** Service identity -> its slices' ClusterState keys. */
  private readonly slicesByIdentity = new Map<string, string[]>();
  private current: PlanReport = snapshot([]);

  /**
   * @param tuning.chunkSize entries per copy-on-write chunk of the report order
   *   (default 64; tests use tiny ones to exercise splitting)
   * @param tuning.fullSync the pipeline's "next sync is full" (else the cache keeps its own)
   */
  constructor(node: PlanNodeSource, options: PlanOptions = {}, tuning: { readonly chunkSize?: number; readonly fullSync?: FullSync } = {}) {
    this.nodeSource = node;
    this.options = options;
    this.chunk = Math.max(1, tuning.chunkSize ?? 64);
    this.fullSync = tuning.fullSync ?? new FullSync();
    this.ownsFullSync = tuning.fullSync === undefined;
    this.order = new ReportOrder(this.chunk);
  }

  /** The latest report (empty before the first update). */
  get report(): PlanReport {
    return this.current;
  }

  /** The frontend the latest plan has under `key` (frontendKey), if any. */
  frontend(key: string): Frontend | undefined {
    return ownerFrontend(this.claims, key);
  }

  /** The latest plan's frontends of `service` ("namespace/name"), in plan order; empty when it has none. */
  frontendsOf(service: string): readonly Frontend[] {
    return this.order.frontendsOf(service);
  }

  /** The node the latest plan was made for. */
  get planNode(): PlanNode | undefined {
    return this.node;
  }

  /** Services planned. */
  get size(): number {
    return this.parts.size;
  }

  /**
   * Applies one batch of changes (a StateChange's `changed`). The first call
   * (and any call after a failed one) plans everything, whatever `changed`
   * says. `changed` must name everything that changed since the previous
   * call: when the state comes from a new source (its 'initial' hand-over
   * after a restart of the source), call rebuild() instead.
   */
  update(state: ClusterState, changed: PlanChanges): PlanUpdate {
    if (this.fullSync.needed) return this.rebuild(state);
    try {
      if (typeof this.nodeSource === 'function' && !isEmpty(changed.nodes)) {
        const node = this.nodeSource(state);
        if (nodeSignature(node) !== this.nodeSig) return this.rebuildWith(state, node);
      }
      return this.incremental(state, changed);
    } catch (e) {
      this.fullSync.request('plan-failure'); // the indexes may be half-updated: start over next time
      throw e;
    }
  }

  /** Plans every Service again (e.g. after missed changes); still reports what changed. */
  rebuild(state: ClusterState): PlanUpdate {
    const node = typeof this.nodeSource === 'function' ? this.nodeSource(state) : this.nodeSource;
    return this.rebuildWith(state, node);
  }

  // ---- full -------------------------------------------------------------------

  private rebuildWith(state: ClusterState, node: PlanNode): PlanUpdate {
    try {
      return this.replan(state, node);
    } catch (e) {
      this.fullSync.request('plan-failure');
      throw e;
    }
  }

  private replan(state: ClusterState, node: PlanNode): PlanUpdate {
    // Same validation (and error) as a full build: an invalid node address throws here.
    const planner = servicePlanner(node, this.options);
    const beforeFrontends = new Map<string, Frontend>();
    for (const key of this.claims.keys()) beforeFrontends.set(key, ownerFrontend(this.claims, key) as Frontend);
    const beforePorts = new Map<number, HealthCheckNodePort>();
    for (const port of this.portClaims.keys()) beforePorts.set(port, ownerPort(this.portClaims, port) as HealthCheckNodePort);
    const beforeWarnings = this.current.warnings;
    const oldParts = new Map(this.parts);

    this.node = node;
    this.nodeSig = nodeSignature(node);
    this.planner = planner;
    this.parts.clear();
    this.claims.clear();
    this.portClaims.clear();
    this.servicesByIdentity.clear();
    this.sliceOwner.clear();
    this.slicesByIdentity.clear();

    const sliceObjects = new Map<string, V1EndpointSlice[]>();
    for (const [key, slice] of state.endpointSlices) {
      const identity = sliceServiceKey(slice);
      if (identity === null) continue;
      this.sliceOwner.set(key, identity);
      addTo(this.slicesByIdentity, identity, key);
      const list = sliceObjects.get(identity);
      if (list) list.push(slice);
      else sliceObjects.set(identity, [slice]);
    }
    const sorted: Part[] = [];
    for (const [key, svc] of state.services) {
      const identity = serviceKey(svc);
      const part = makePart(key, identity, planner(svc, sliceObjects.get(identity) ?? NONE), oldParts.get(key));
      this.parts.set(key, part);
      addTo(this.servicesByIdentity, identity, key);
      sorted.push(part);
    }
    sorted.sort(comparePart);
    // In report order, so every claim list is already sorted.
    for (const part of sorted) {
      for (const k of part.fkeys) pushTo(this.claims, k, part);
      const hc = part.plan.healthCheckNodePort;
      if (hc) pushTo(this.portClaims, hc.port, part);
    }
    this.order = ReportOrder.from(sorted.map((part) => this.assemble(part)), this.chunk);

    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    const services = new Set<string>();
    for (const key of this.claims.keys()) {
      const before = beforeFrontends.get(key);
      const now = ownerFrontend(this.claims, key) as Frontend;
      if (!before) {
        added.push(key);
        services.add(now.service);
      } else if (!frontendEqual(before, now)) {
        updated.push(key);
        services.add(before.service).add(now.service);
      }
    }
    for (const [key, before] of beforeFrontends) {
      if (this.claims.has(key)) continue;
      removed.push(key);
      services.add(before.service);
    }
    let portsChanged = beforePorts.size !== this.portClaims.size;
    for (const [port, hc] of beforePorts) {
      if (portsChanged) break;
      const now = ownerPort(this.portClaims, port);
      portsChanged = !now || !healthCheckEqual(hc, now);
    }
    const report = this.publish();
    if (this.ownsFullSync) this.fullSync.done();
    return {
      report, frontends: { added, updated, removed }, services, healthCheckNodePortsChanged: portsChanged,
      warningsChanged: !warningsEqual(beforeWarnings, report.warnings), replanned: sorted.length, full: true,
    };
  }

  // ---- incremental --------------------------------------------------------------

  private incremental(state: ClusterState, changed: PlanChanges): PlanUpdate {
    const planner = this.planner as ServicePlanner;
    // 1. Which Services to plan again.
    const affected = new Set<string>(changed.services ?? NONE);
    const touchedIdentities = new Set<string>();
    for (const key of changed.endpointSlices ?? NONE) {
      const before = this.sliceOwner.get(key);
      const slice = state.endpointSlices.get(key);
      const after = slice ? sliceServiceKey(slice) : null;
      if (before === after) {
        if (after !== null) touchedIdentities.add(after);
        continue;
      }
      if (before !== undefined) {
        removeFrom(this.slicesByIdentity, before, key);
        touchedIdentities.add(before);
      }
      if (after !== null) {
        this.sliceOwner.set(key, after);
        addTo(this.slicesByIdentity, after, key);
        touchedIdentities.add(after);
      } else {
        this.sliceOwner.delete(key);
      }
    }
    for (const identity of touchedIdentities) {
      for (const key of this.servicesByIdentity.get(identity) ?? NONE) affected.add(key);
    }

    // 2. Plan them; keep the parts whose plan did not change at all.
    interface Replan { key: string; old: Part | undefined; next: Part | null }
    const replans: Replan[] = [];
    for (const key of affected) {
      const old = this.parts.get(key);
      const svc = state.services.get(key);
      if (!svc) {
        if (old) replans.push({ key, old, next: null });
        continue;
      }
      const identity = serviceKey(svc);
      const plan = planner(svc, this.slicesOf(state, identity));
      const next = makePart(key, identity, plan, old);
      if (old && next.plan === old.plan && next.identity === old.identity) continue;
      replans.push({ key, old, next });
    }
    if (replans.length === 0) {
      return {
        report: this.current, frontends: { added: NONE, updated: NONE, removed: NONE }, services: new Set(),
        healthCheckNodePortsChanged: false, warningsChanged: false, replanned: affected.size, full: false,
      };
    }

    // 3. What the plan has now under every key these parts claim(ed).
    const beforeFrontends = new Map<string, Frontend | undefined>();
    const beforePorts = new Map<number, HealthCheckNodePort | undefined>();
    for (const { old, next } of replans) {
      for (const p of [old, next]) {
        if (!p) continue;
        for (const k of p.fkeys) if (!beforeFrontends.has(k)) beforeFrontends.set(k, ownerFrontend(this.claims, k));
        const port = p.plan.healthCheckNodePort?.port;
        if (port !== undefined && !beforePorts.has(port)) beforePorts.set(port, ownerPort(this.portClaims, port));
      }
    }

    // 4. Swap the parts in; collect every part whose contribution may change.
    const dirty = new Set<Part>();
    /** Warnings of the replaced parts, by key, to tell whether the report's warnings changed. */
    const replacedWarnings = new Map<string, readonly PlanWarning[]>();
    let warningsChanged = false;
    for (const { key, old, next } of replans) {
      if (old) {
        for (const k of old.fkeys) removeClaim(this.claims, k, old, dirty);
        const hc = old.plan.healthCheckNodePort;
        if (hc) removeClaim(this.portClaims, hc.port, old, dirty);
        const { warnings } = old.assembled as Assembled;
        // Gone, or moved in the report: its warnings moved with it.
        if (warnings.length > 0 && (!next || comparePart(old, next) !== 0)) warningsChanged = true;
        else replacedWarnings.set(key, warnings);
        removeFrom(this.servicesByIdentity, old.identity, key);
        dirty.delete(old);
      }
      if (next) {
        this.parts.set(key, next);
        addTo(this.servicesByIdentity, next.identity, key);
        for (const k of next.fkeys) insertClaim(this.claims, k, next, dirty);
        const hc = next.plan.healthCheckNodePort;
        if (hc) insertClaim(this.portClaims, hc.port, next, dirty);
        dirty.add(next);
      } else {
        this.parts.delete(key);
      }
      // Position in the report: in place when the sort key is the same.
      if (old && next && comparePart(old, next) === 0) {
        this.order.replace(placeholder(next));
      } else {
        if (old) this.order.remove(old);
        if (next) this.order.insert(placeholder(next));
      }
    }

    // 5. Re-assemble them.
    for (const part of dirty) {
      const before = part.assembled?.warnings ?? replacedWarnings.get(part.key) ?? NONE;
      const a = this.assemble(part);
      if (!warningsChanged && !warningsEqual(before, a.warnings)) warningsChanged = true;
      this.order.replace(a);
    }

    // 6. The difference.
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    const services = new Set<string>();
    for (const [key, before] of beforeFrontends) {
      const now = ownerFrontend(this.claims, key);
      if (!before) {
        if (!now) continue;
        added.push(key);
        services.add(now.service);
      } else if (!now) {
        removed.push(key);
        services.add(before.service);
      } else if (!frontendEqual(before, now)) {
        updated.push(key);
        services.add(before.service).add(now.service);
      }
    }
    let portsChanged = false;
    for (const [port, before] of beforePorts) {
      const now = ownerPort(this.portClaims, port);
      if (before === now) continue;
      if (!before || !now || !healthCheckEqual(before, now)) {
        portsChanged = true;
        break;
      }
    }
    return {
      report: this.publish(), frontends: { added, updated, removed }, services, healthCheckNodePortsChanged: portsChanged,
      warningsChanged, replanned: affected.size, full: false,
    };
  }

  // ---- helpers ------------------------------------------------------------------

  private slicesOf(state: ClusterState, identity: string): V1EndpointSlice[] {
    const keys = this.slicesByIdentity.get(identity);
    if (!keys) return [];
    const out: V1EndpointSlice[] = [];
    for (const key of keys) {
      const s = state.endpointSlices.get(key);
      if (s) out.push(s);
    }
    return out;
  }

  /** The part's contribution given the current claims (assemblePlan's loop body). */
  private assemble(part: Part): Assembled {
    const { plan, fkeys } = part;
    let frontends: Frontend[] | null = null;
    let warnings: PlanWarning[] | null = null;
    for (let i = 0; i < fkeys.length; i++) {
      const k = fkeys[i] as string;
      const owner = (this.claims.get(k) as Part[])[0] as Part;
      if (owner === part) {
        frontends?.push(plan.frontends[i] as Frontend);
        continue;
      }
      frontends ??= plan.frontends.slice(0, i);
      warnings ??= [...plan.warnings];
      const f = plan.frontends[i] as Frontend;
      const first = owner.plan.frontends[owner.fkeys.indexOf(k)] as Frontend;
      warnings.push({
        service: f.service,
        message: `${f.kind} ${f.address}:${f.port}/${f.protocol} is already ${first.service}'s ${first.kind} frontend; left out`,
      });
    }
    let healthCheckNodePort = plan.healthCheckNodePort;
    if (healthCheckNodePort) {
      const owner = (this.portClaims.get(healthCheckNodePort.port) as Part[])[0] as Part;
      if (owner !== part) {
        const first = owner.plan.healthCheckNodePort as HealthCheckNodePort;
        warnings ??= [...plan.warnings];
        warnings.push({
          service: healthCheckNodePort.service,
          message: `healthCheckNodePort ${healthCheckNodePort.port} is already ${first.service}'s; left out`,
        });
        healthCheckNodePort = null;
      }
    }
    const a: Assembled = { part, frontends: frontends ?? plan.frontends, warnings: warnings ?? plan.warnings, healthCheckNodePort };
    part.assembled = a;
    return a;
  }

  private publish(): PlanReport {
    this.current = snapshot(this.order.freeze());
    return this.current;
  }
}

// ---- module helpers ---------------------------------------------------------------

/** Stands in the order until the part is assembled (step 5 always replaces it). */
function placeholder(part: Part): Assembled {
  return { part, frontends: NONE, warnings: NONE, healthCheckNodePort: null };
}

/** What planning reads of the node (plan.ts prepare): name, addresses, zone. */
function nodeSignature(node: PlanNode): string {
  const zone = node.zone ?? node.labels?.[LABEL_TOPOLOGY_ZONE] ?? '';
  return JSON.stringify([node.name, node.addresses, zone]);
}

function isEmpty(keys: Iterable<string> | undefined): boolean {
  if (keys === undefined) return true;
  for (const _ of keys) return false;
  return true;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePart(a: Part, b: Part): number {
  return cmp(a.plan.service, b.plan.service) || cmp(a.key, b.key);
}

/**
 * A Part for `plan`, reusing the previous part's objects where equal: the same
 * Frontend objects when a frontend did not change (consumers can compare with
 * ===), and the previous ServicePlan itself when nothing changed.
 */
function makePart(key: string, identity: string, plan: ServicePlan, old: Part | undefined): Part {
  const fkeys = plan.frontends.map(frontendKey);
  if (!old) return { key, identity, plan, fkeys };
  const prev = old.plan;
  let same = prev.service === plan.service && prev.frontends.length === plan.frontends.length
    && healthCheckEqual(prev.healthCheckNodePort, plan.healthCheckNodePort) && warningsEqual(prev.warnings, plan.warnings);
  let frontends: Frontend[] | null = null;
  for (let i = 0; i < plan.frontends.length; i++) {
    const f = plan.frontends[i] as Frontend;
    const j = old.fkeys[i] === fkeys[i] ? i : old.fkeys.indexOf(fkeys[i] as string);
    const g = j < 0 ? undefined : prev.frontends[j];
    if (g && frontendEqual(f, g)) {
      if (!frontends) frontends = plan.frontends.slice(0, i);
      frontends.push(g);
      if (j !== i) same = false;
    } else {
      same = false;
      frontends?.push(f);
    }
  }
  if (same) return old.identity === identity ? old : { key, identity, plan: prev, fkeys: old.fkeys };
  return { key, identity, plan: frontends ? { ...plan, frontends } : plan, fkeys };
}

function ownerFrontend(claims: ReadonlyMap<string, Part[]>, key: string): Frontend | undefined {
  const owner = claims.get(key)?.[0];
  return owner?.plan.frontends[owner.fkeys.indexOf(key)];
}

function ownerPort(claims: ReadonlyMap<number, Part[]>, port: number): HealthCheckNodePort | undefined {
  return claims.get(port)?.[0]?.plan.healthCheckNodePort ?? undefined;
}

/** Index lists are short (a Service's slices; usually one Service per identity): arrays beat Sets. */
function addTo(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) index.set(key, [value]);
  else if (!list.includes(value)) list.push(value);
}

function removeFrom(index: Map<string, string[]>, key: string, value: string): void {
  const list = index.get(key);
  if (!list) return;
  const i = list.indexOf(value);
  if (i < 0) return;
  if (list.length === 1) index.delete(key);
  else list.splice(i, 1);
}

function pushTo<K>(claims: Map<K, Part[]>, key: K, part: Part): void {
  const list = claims.get(key);
  if (list) list.push(part);
  else claims.set(key, [part]);
}

/** Adds `part` to the key's claimants in report order; the others' contributions may change. */
function insertClaim<K>(claims: Map<K, Part[]>, key: K, part: Part, dirty: Set<Part>): void {
  const list = claims.get(key);
  if (!list) {
    claims.set(key, [part]);
    return;
  }
  let i = 0;
  while (i < list.length && comparePart(list[i] as Part, part) < 0) i++;
  list.splice(i, 0, part);
  for (const p of list) dirty.add(p);
}

function removeClaim<K>(claims: Map<K, Part[]>, key: K, part: Part, dirty: Set<Part>): void {
  const list = claims.get(key);
  if (!list) return;
  const i = list.indexOf(part);
  if (i < 0) return;
  if (list.length === 1) {
    claims.delete(key);
    return;
  }
  list.splice(i, 1);
  for (const p of list) dirty.add(p);
}

/**
 * The parts' contributions in report order, as a copy-on-write list of
 * chunks: after freeze() (a snapshot now holds the chunks), an update copies
 * only the chunks it touches and the short outer list, not all N entries.
 */
class ReportOrder {
  private chunks: Assembled[][] = [];
  /** Chunk arrays made since the last freeze(): free to change in place. */
  private readonly fresh = new Set<Assembled[]>();
  private outerFresh = true;

  /** @param chunk entries per chunk (a chunk splits at twice that) */
  constructor(private readonly chunk: number) {}

  static from(sorted: readonly Assembled[], chunk: number): ReportOrder {
    const o = new ReportOrder(chunk);
    for (let i = 0; i < sorted.length; i += chunk) o.chunks.push(sorted.slice(i, i + chunk));
    return o;
  }

  /** The current chunks, never changed again (later changes copy them). */
  freeze(): readonly (readonly Assembled[])[] {
    this.fresh.clear();
    this.outerFresh = false;
    return this.chunks;
  }

  /** Replaces the entry of the part with the same sort key. */
  replace(a: Assembled): void {
    const [ci, i] = this.find(a.part);
    this.own(ci)[i] = a;
  }

  insert(a: Assembled): void {
    if (this.chunks.length === 0) {
      this.ownOuter();
      const c = [a];
      this.fresh.add(c);
      this.chunks.push(c);
      return;
    }
    const [ci, i] = this.locate(a.part);
    const c = this.own(ci);
    c.splice(i, 0, a);
    if (c.length > 2 * this.chunk) {
      const right = c.splice(this.chunk);
      this.fresh.add(right);
      this.chunks.splice(ci + 1, 0, right);
    }
  }

  remove(part: Part): void {
    const [ci, i] = this.find(part);
    const c = this.own(ci);
    c.splice(i, 1);
    if (c.length === 0) this.chunks.splice(ci, 1);
  }

  /** The accepted frontends of the parts named `service`, in order. */
  frontendsOf(service: string): readonly Frontend[] {
    if (this.chunks.length === 0) return NONE;
    let [ci, i] = this.locate({ key: '', identity: '', plan: { service, frontends: NONE, healthCheckNodePort: null, warnings: NONE }, fkeys: NONE });
    let out: readonly Frontend[] = NONE;
    let copied = false;
    for (; ci < this.chunks.length; ci++, i = 0) {
      const c = this.chunks[ci] as Assembled[];
      for (; i < c.length; i++) {
        const a = c[i] as Assembled;
        if (a.part.plan.service !== service) return out;
        if (out.length === 0) {
          out = a.frontends; // the usual case: one part, its own array
        } else if (a.frontends.length > 0) {
          if (!copied) {
            out = [...out];
            copied = true;
          }
          (out as Frontend[]).push(...a.frontends);
        }
      }
    }
    return out;
  }

  /** Where `part` is; throws when it is not there (a bug). */
  private find(part: Part): [number, number] {
    const at = this.locate(part);
    if ((this.chunks[at[0]]?.[at[1]])?.part.key !== part.key) throw new Error(`plan cache: ${part.key} is not where it should be`);
    return at;
  }

  /** The first position whose part does not sort before `part` (the end of the last chunk if none). */
  private locate(part: Part): [number, number] {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid] as Assembled[];
      if (comparePart((c[c.length - 1] as Assembled).part, part) < 0) lo = mid + 1;
      else hi = mid;
    }
    const c = chunks[lo] as Assembled[];
    let a = 0;
    let b = c.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (comparePart((c[mid] as Assembled).part, part) < 0) a = mid + 1;
      else b = mid;
    }
    return [lo, a];
  }

  private own(ci: number): Assembled[] {
    const c = this.chunks[ci] as Assembled[];
    if (this.fresh.has(c)) return c;
    this.ownOuter();
    const copy = c.slice();
    this.fresh.add(copy);
    this.chunks[ci] = copy;
    return copy;
  }

  private ownOuter(): void {
    if (this.outerFresh) return;
    this.chunks = this.chunks.slice();
    this.outerFresh = true;
  }
}

/** A report over fixed contributions; its arrays are built on first access. */
function snapshot(chunks: readonly (readonly Assembled[])[]): PlanReport {
  let frontends: Frontend[] | undefined;
  let ports: HealthCheckNodePort[] | undefined;
  let warnings: PlanWarning[] | undefined;
  const plan: Plan = {
    get frontends(): readonly Frontend[] {
      if (!frontends) {
        frontends = [];
        for (const c of chunks) for (const a of c) for (const f of a.frontends) frontends.push(f);
      }
      return frontends;
    },
    get healthCheckNodePorts(): readonly HealthCheckNodePort[] {
      if (!ports) {
        ports = [];
        for (const c of chunks) for (const a of c) if (a.healthCheckNodePort) ports.push(a.healthCheckNodePort);
      }
      return ports;
    },
  };
  return {
    plan,
    get warnings(): readonly PlanWarning[] {
      if (!warnings) {
        warnings = [];
        for (const c of chunks) for (const a of c) for (const w of a.warnings) warnings.push(w);
      }
      return warnings;
    },
  };
}

export function frontendEqual(a: Frontend, b: Frontend): boolean {
  if (a === b) return true;
  return a.service === b.service && a.servicePort === b.servicePort && a.kind === b.kind && a.address === b.address
    && a.port === b.port && a.protocol === b.protocol && a.sessionAffinityTimeoutSeconds === b.sessionAffinityTimeoutSeconds
    && a.trafficScope === b.trafficScope && a.noEndpointsAction === b.noEndpointsAction
    && rangesEqual(a.sourceRanges, b.sourceRanges) && backendsEqual(a.backends, b.backends);
}

function backendsEqual(a: readonly Backend[], b: readonly Backend[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Backend;
    const y = b[i] as Backend;
    if (x.address !== y.address || x.port !== y.port || x.nodeName !== y.nodeName || x.terminating !== y.terminating) return false;
  }
  return true;
}

function rangesEqual(a: readonly string[] | null, b: readonly string[] | null): boolean {
  if (a === b) return true;
  if (a === null || b === null || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function healthCheckEqual(a: HealthCheckNodePort | null, b: HealthCheckNodePort | null): boolean {
  if (a === b) return true;
  return a !== null && b !== null && a.service === b.service && a.port === b.port && a.localReadyEndpoints === b.localReadyEndpoints;
}

function warningsEqual(a: readonly PlanWarning[], b: readonly PlanWarning[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as PlanWarning;
    const y = b[i] as PlanWarning;
    if (x.service !== y.service || x.message !== y.message) return false;
  }
  return true;
}
