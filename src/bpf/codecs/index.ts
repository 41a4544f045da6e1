/** Every struct codec, so one test can hold each against the C struct's BTF. */
import type { StructCodec } from '../codec.js';
import { lb4Affinity, lb4AffinityKey, lb4DsrFrontend, lb4Flow, lb4FragKey, lb4SnatEntry, lb4SockRevnat, lb4SockRevnatKey, lb4Tuple } from './connections.js';
import { dsrlbEvent, dsrlbMonitorGate, dsrlbMonitorPending } from './monitor.js';
import { dsrlbConfig, dsrlbNode } from './node.js';
import { lb4Backend, lb4BackendAddr, lb4Frontend, lb4Key, lb4LocalBackendKey, lb4Revnat, lb4Service } from './services.js';
import { lb4SourceRangeKey } from './source-ranges.js';

export * from './connections.js';
export * from './maglev.js';
export * from './monitor.js';
export * from './node.js';
export * from './scalars.js';
export * from './services.js';
export * from './source-ranges.js';

export const structCodecs: readonly StructCodec<unknown>[] = [
  lb4Key, lb4Service, lb4Frontend, lb4Backend, lb4LocalBackendKey, lb4BackendAddr, lb4Revnat, dsrlbNode, dsrlbConfig,
  lb4Tuple, lb4DsrFrontend, lb4FragKey, lb4Flow, lb4SnatEntry, lb4AffinityKey, lb4Affinity, lb4SourceRangeKey, lb4SockRevnatKey, lb4SockRevnat,
  dsrlbMonitorGate, dsrlbEvent, dsrlbMonitorPending,
] as readonly StructCodec<unknown>[];
