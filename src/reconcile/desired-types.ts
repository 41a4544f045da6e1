/**
 * The desired state's shapes (desired.ts builds them from a plan): what one
 * Service needs programmed, without ids. Compared field by field in
 * equality.ts, next door.
 */
import type { Lb4Key } from '../bpf/codecs/services.js';
import type { BackendKey, FrontendKey } from '../model/keys.js';
import type { FrontendKind } from '../plan/types.js';

export interface DesiredBackend {
  /** Identity in lb4_backends. */
  readonly key: BackendKey;
  /** Identity in Maglev tables: "address:port" (a table has one protocol). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly proto: number;
  readonly nodeId: number;
}

export interface SourceRange {
  readonly address: string;
  readonly prefixLength: number;
}

export interface DesiredGroup {
  /** backendSetKey of its frontends (plus a suffix when frontends of one key disagree). */
  readonly key: string;
  /** Usable backends, sorted by name; the Maglev table holds exactly these. */
  readonly backends: readonly DesiredBackend[];
  /** M, or 0 without backends (no table). */
  readonly maglevSize: number;
  /** loadBalancerSourceRanges of its LoadBalancer frontends, sorted. */
  readonly sourceRanges: readonly SourceRange[];
}

export interface DesiredFrontend {
  /** Identity in lb4_services. */
  readonly key: FrontendKey;
  readonly lbKey: Lb4Key;
  readonly groupKey: string;
  readonly kind: FrontendKind;
  /** DSRLB_SVC_F_* */
  readonly flags: number;
  /** Seconds; 0 without affinity. */
  readonly affinityTimeout: number;
  /** Usable backends of its group (lb4_service.backend_count). */
  readonly backendCount: number;
  /**
   * Key of the ClusterIP frontend of the same service port whose backends the
   * socket hooks give in-cluster clients of this one (lb4_service.internal_revnat),
   * when its traffic policy picks other backends than this frontend's; else null.
   */
  readonly internalFrontend: FrontendKey | null;
}

export interface DesiredWarning {
  /** "namespace/name" */
  readonly service: string;
  readonly message: string;
}

/** Everything one Service contributes. */
export interface ServiceDesired {
  readonly service: string;
  readonly frontends: readonly DesiredFrontend[];
  readonly groups: readonly DesiredGroup[];
  readonly warnings: readonly DesiredWarning[];
}

export interface DesiredState {
  readonly services: ReadonlyMap<string, ServiceDesired>;
  /** node id -> IPv4 address */
  readonly nodes: ReadonlyMap<number, string>;
}
