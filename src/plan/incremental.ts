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
 *
 * The parts: cache-index.ts (what a change invalidates), cache-claims.ts
 * (conflicts per key), report-order.ts (the chunked report and its
 * snapshots), cache-part.ts (a Service's part and the report's sort key),
 * plan-equal.ts (equality of plan values); this file is the facade.
 */
import type { ClusterState } from '../api/types.js';
import { FullSync } from '../model/full-sync.js';
import { Claims } from './cache-claims.js';
import { ChangeIndex, type PlanChanges } from './cache-index.js';
import { comparePart, makePart, NONE, placeholder, type Assembled, type Part } from './cache-part.js';
import { LABEL_TOPOLOGY_ZONE } from './nodes.js';
import { frontendEqual, healthCheckEqual, warningsEqual } from './plan-equal.js';
import { servicePlanner, type ServicePlanner } from './plan.js';
import { ReportOrder, snapshot } from './report-order.js';
import { serviceKey } from './services.js';
import type { Frontend, HealthCheckNodePort, PlanNode, PlanOptions, PlanReport, PlanWarning } from './types.js';

export type { PlanChanges } from './cache-index.js';

/** This node, or how to find it in the cluster state (it may read only `state.nodes`). */
export type PlanNodeSource = PlanNode | ((state: ClusterState) => PlanNode);

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
  /** Conflicts: every frontend key's and health check port's claimants. */
  private readonly claims = new Claims();
  /** Which Services a slice change invalidates. */
  private readonly index = new ChangeIndex();
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
    return this.claims.frontend(key);
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
    for (const key of this.claims.frontends.keys()) beforeFrontends.set(key, this.claims.frontend(key) as Frontend);
    const beforePorts = new Map<number, HealthCheckNodePort>();
    for (const port of this.claims.ports.keys()) beforePorts.set(port, this.claims.port(port) as HealthCheckNodePort);
    const beforeWarnings = this.current.warnings;
    const oldParts = new Map(this.parts);

    this.node = node;
    this.nodeSig = nodeSignature(node);
    this.planner = planner;
    this.parts.clear();
    this.claims.clear();
    const sliceObjects = this.index.reset(state);
    const sorted: Part[] = [];
    for (const [key, svc] of state.services) {
      const identity = serviceKey(svc);
      const part = makePart(key, identity, planner(svc, sliceObjects.get(identity) ?? NONE), oldParts.get(key));
      this.parts.set(key, part);
      this.index.addService(identity, key);
      sorted.push(part);
    }
    sorted.sort(comparePart);
    // In report order, so every claim list is already sorted.
    for (const part of sorted) this.claims.append(part);
    this.order = ReportOrder.from(sorted.map((part) => this.claims.assemble(part)), this.chunk);

    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    const services = new Set<string>();
    for (const key of this.claims.frontends.keys()) {
      const before = beforeFrontends.get(key);
      const now = this.claims.frontend(key) as Frontend;
      if (!before) {
        added.push(key);
        services.add(now.service);
      } else if (!frontendEqual(before, now)) {
        updated.push(key);
        services.add(before.service).add(now.service);
      }
    }
    for (const [key, before] of beforeFrontends) {
      if (this.claims.frontends.has(key)) continue;
      removed.push(key);
      services.add(before.service);
    }
    let portsChanged = beforePorts.size !== this.claims.ports.size;
    for (const [port, hc] of beforePorts) {
      if (portsChanged) break;
      const now = this.claims.port(port);
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
    const affected = this.index.invalidated(state, changed);

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
      const plan = planner(svc, this.index.slicesOf(state, identity));
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
        for (const k of p.fkeys) if (!beforeFrontends.has(k)) beforeFrontends.set(k, this.claims.frontend(k));
        const port = p.plan.healthCheckNodePort?.port;
        if (port !== undefined && !beforePorts.has(port)) beforePorts.set(port, this.claims.port(port));
      }
    }

    // 4. Swap the parts in; collect every part whose contribution may change.
    const dirty = new Set<Part>();
    /** Warnings of the replaced parts, by key, to tell whether the report's warnings changed. */
    const replacedWarnings = new Map<string, readonly PlanWarning[]>();
    let warningsChanged = false;
    for (const { key, old, next } of replans) {
      if (old) {
        this.claims.remove(old, dirty);
        const { warnings } = old.assembled as Assembled;
        // Gone, or moved in the report: its warnings moved with it.
        if (warnings.length > 0 && (!next || comparePart(old, next) !== 0)) warningsChanged = true;
        else replacedWarnings.set(key, warnings);
        this.index.removeService(old.identity, key);
        dirty.delete(old);
      }
      if (next) {
        this.parts.set(key, next);
        this.index.addService(next.identity, key);
        this.claims.insert(next, dirty);
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
      const a = this.claims.assemble(part);
      if (!warningsChanged && !warningsEqual(before, a.warnings)) warningsChanged = true;
      this.order.replace(a);
    }

    // 6. The difference.
    const added: string[] = [];
    const updated: string[] = [];
    const removed: string[] = [];
    const services = new Set<string>();
    for (const [key, before] of beforeFrontends) {
      const now = this.claims.frontend(key);
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
      const now = this.claims.port(port);
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

  private publish(): PlanReport {
    this.current = snapshot(this.order.freeze());
    return this.current;
  }
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
