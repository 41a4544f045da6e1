/** Every struct codec, so one test can hold each against the C struct's BTF. */
import type { StructCodec } from '../codec.js';
import { dsrlbConfig, dsrlbNode } from './node.js';
import { lb4Backend, lb4Key, lb4Revnat, lb4Service } from './services.js';

export * from './node.js';
export * from './scalars.js';
export * from './services.js';

export const structCodecs: readonly StructCodec<unknown>[] = [
  lb4Key, lb4Service, lb4Backend, lb4Revnat, dsrlbNode, dsrlbConfig,
] as readonly StructCodec<unknown>[];
