/**
 * The datapath maps by their pinned names (DESIGN.md §2) with the codecs of
 * their keys and values: one table used by the reconciler, lbctl and tests.
 */
import type { Codec } from './codec.js';
import { lb4Backend, lb4Key, lb4Revnat, lb4Service } from './codecs/services.js';
import { dsrlbConfig, dsrlbNode } from './codecs/node.js';
import { counter, u32Key } from './codecs/scalars.js';
import type { BpfMap } from './map.js';
import { openPinnedMap } from './pins.js';
import type { BpfObjectFile } from './object.js';

export interface MapSpec<K, V> { readonly name: string; readonly key: Codec<K>; readonly value: Codec<V> }

function spec<K, V>(name: string, key: Codec<K>, value: Codec<V>): MapSpec<K, V> {
  return { name, key, value };
}

export const MapSpecs = {
  services: spec('lb4_services', lb4Key, lb4Service),
  backends: spec('lb4_backends', u32Key, lb4Backend),
  revnat: spec('lb4_revnat', u32Key, lb4Revnat),
  nodes: spec('nodes', u32Key, dsrlbNode),
  config: spec('config', u32Key, dsrlbConfig),
  stats: spec('stats', u32Key, counter),
} as const;

export function openPinned<K, V>(root: string, s: MapSpec<K, V>): BpfMap<K, V> {
  return openPinnedMap(root, s.name, s.key, s.value);
}

export function mapOf<K, V>(obj: BpfObjectFile, s: MapSpec<K, V>): BpfMap<K, V> {
  return obj.map(s.name, s.key, s.value);
}
