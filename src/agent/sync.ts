/**
 * One sync: cluster state -> plan -> desired state -> maps. Pure steps come
 * from src/plan and src/datapath; this file only strings them together.
 */
import type { ClusterState } from '../k8s/types.js';
import { buildPlanReport, nodeAddressForFamily, resolvePlanNode } from '../plan/index.js';
import type { Plan, PlanWarning } from '../plan/types.js';
import type { Reconciler, SyncResult } from '../datapath/reconciler.js';

export interface LocalNode { readonly name: string; readonly address: string }

export interface SyncOutcome {
  readonly plan: Plan;
  readonly planWarnings: readonly PlanWarning[];
  readonly result: SyncResult;
  /** IPv4 of every node by name, this one included. */
  readonly nodeAddresses: ReadonlyMap<string, string>;
}

/** IPv4 address of every Node object, plus this node's own (it may have no Node object in a manifests dir). */
export function nodeAddresses(state: ClusterState, local: LocalNode): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, node] of state.nodes) {
    const address = nodeAddressForFamily(node, 'IPv4');
    if (address) out.set(name, address);
  }
  out.set(local.name, local.address);
  return out;
}

export function syncOnce(state: ClusterState, local: LocalNode, reconciler: Reconciler): SyncOutcome {
  const planNode = resolvePlanNode(state, { name: local.name, addresses: [local.address] });
  // The maps are IPv4: plan IPv4 only, as a single-stack kube-proxy would.
  const report = buildPlanReport(state, planNode, { ipFamilies: ['IPv4'] });
  const addresses = nodeAddresses(state, local);
  const result = reconciler.sync({ plan: report.plan, localNode: local, nodeAddresses: addresses });
  return { plan: report.plan, planWarnings: report.warnings, result, nodeAddresses: addresses };
}
