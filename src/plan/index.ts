/** The pure plan (docs/design.md §3): cluster state + this node -> what to program. */
export { assemblePlan, buildPlan, buildPlanReport, planService, type ServicePlan } from './plan.js';
export { PlanCache, type FrontendChanges, type PlanChanges, type PlanNodeSource, type PlanUpdate } from './incremental.js';
export { frontendEqual } from './plan-equal.js';
export { sliceServiceKey } from './endpoints.js';
export { backendSetKey, frontendFamily, frontendKey } from './keys.js';
export { nodeNameWarning, planSkips, serviceSkips } from './skips.js';
export { LABEL_TOPOLOGY_ZONE, nodeAddressForFamily, nodeHostAddresses, resolvePlanNode } from './nodes.js';
export type {
  Backend, Frontend, FrontendKind, HealthCheckNodePort, IPFamily, NoEndpointsAction, Plan, PlanNode, PlanOptions,
  PlanReport, PlanWarning, Protocol, TrafficScope,
} from './types.js';
