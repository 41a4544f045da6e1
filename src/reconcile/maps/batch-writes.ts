/**
 * Batch writes of the big service maps without a Buffer per entry: a cold
 * start writes ~100,000 backends and ~10,000 frontends, and encoding each
 * through its codec (one allocation per key and value, then a concat) cost
 * more than the syscalls. The layouts here are checked against the codecs'
 * own field layouts when this module loads (and byte for byte by
 * test/unit/reconcile-batch-writes.test.ts); if a struct ever changes without
 * this file, writes fall back to the codecs instead of writing wrong bytes.
 */
import type { StructCodec } from '../../bpf/codec.js';
import { lb4Backend, lb4Key, lb4Revnat, lb4Service, type Lb4Backend, type Lb4Key, type Lb4Revnat, type Lb4Service } from '../../bpf/codecs/services.js';
import { call } from '../../bpf/errors.js';
import type { BpfMap } from '../../bpf/map.js';
import { UpdateFlags } from '../../bpf/map-types.js';
import { native } from '../../bpf/native.js';
import { ipv4Value } from '../../net/ip.js';

type Layout = readonly (readonly [name: string, offset: number, size: number])[];

function matches(codec: StructCodec<unknown>, size: number, layout: Layout): boolean {
  if (codec.size !== size) return false;
  const fields = codec.fields.filter((f) => !f.pad);
  return fields.length === layout.length
    && fields.every((f, i) => f.name === layout[i]?.[0] && f.offset === layout[i]?.[1] && f.size === layout[i]?.[2]);
}

/** The layouts the writers below assume (bpf/include/dsrlb.h). */
export const LAYOUTS_MATCH = matches(lb4Backend as StructCodec<unknown>, 16, [['address', 0, 4], ['port', 4, 2], ['proto', 6, 1], ['flags', 7, 1], ['nodeId', 8, 4], ['generation', 12, 4]])
  && matches(lb4Key as StructCodec<unknown>, 8, [['address', 0, 4], ['port', 4, 2], ['proto', 6, 1]])
  && matches(lb4Service as StructCodec<unknown>, 20, [['serviceId', 0, 4], ['affinityTimeout', 4, 4], ['backendCount', 8, 2], ['revnatId', 10, 2], ['flags', 12, 1], ['kind', 13, 1], ['internalRevnat', 14, 2], ['maglevSize', 16, 4]])
  && matches(lb4Revnat as StructCodec<unknown>, 8, [['address', 0, 4], ['port', 4, 2]]);

/** Dotted quad -> 4 bytes at `o`, network order. */
function writeIpv4(b: Buffer, o: number, address: string): void {
  const v = ipv4Value(address);
  if (v < 0) throw new RangeError(`not an IPv4 address: ${address}`);
  b.writeUInt32BE(v, o);
}

export function encodeBackend(b: Buffer, o: number, v: Lb4Backend): void {
  writeIpv4(b, o, v.address);
  b.writeUInt16BE(v.port, o + 4);
  b[o + 6] = v.proto;
  b[o + 7] = v.flags;
  b.writeUInt32LE(v.nodeId, o + 8);
  b.writeUInt32LE(v.generation, o + 12);
}

export function encodeLbKey(b: Buffer, o: number, k: Lb4Key): void {
  writeIpv4(b, o, k.address);
  b.writeUInt16BE(k.port, o + 4);
  b[o + 6] = k.proto;
  b[o + 7] = 0;
}

export function encodeService(b: Buffer, o: number, v: Lb4Service): void {
  b.writeUInt32LE(v.serviceId, o);
  b.writeUInt32LE(v.affinityTimeout, o + 4);
  b.writeUInt16LE(v.backendCount, o + 8);
  b.writeUInt16LE(v.revnatId, o + 10);
  b[o + 12] = v.flags;
  b[o + 13] = v.kind;
  b.writeUInt16LE(v.internalRevnat, o + 14);
  b.writeUInt32LE(v.maglevSize, o + 16);
}

export function encodeRevnat(b: Buffer, o: number, v: Lb4Revnat): void {
  writeIpv4(b, o, v.address);
  b.writeUInt16BE(v.port, o + 4);
  b[o + 6] = 0;
  b[o + 7] = 0;
}

function encodeU32(b: Buffer, o: number, v: number): void {
  b.writeUInt32LE(v, o);
}

function batchWrite<K, V>(map: BpfMap<K, V>, entries: readonly (readonly [K, V])[], keySize: number, valueSize: number,
  encodeKey: (b: Buffer, o: number, k: K) => void, encodeValue: (b: Buffer, o: number, v: V) => void): void {
  if (entries.length === 0) return;
  if (!LAYOUTS_MATCH) {
    map.updateBatch(entries);
    return;
  }
  const n = entries.length;
  const keys = Buffer.allocUnsafe(n * keySize);
  const values = Buffer.allocUnsafe(n * valueSize);
  for (let i = 0; i < n; i++) {
    const [k, v] = entries[i] as readonly [K, V];
    encodeKey(keys, i * keySize, k);
    encodeValue(values, i * valueSize, v);
  }
  call(map.name, () => native().mapUpdateBatch(map.fd, keys, values, n, UpdateFlags.ANY));
}

export function writeBackendBatch(map: BpfMap<number, Lb4Backend>, entries: readonly (readonly [number, Lb4Backend])[]): void {
  batchWrite(map, entries, 4, 16, encodeU32, encodeBackend);
}

export function writeServiceBatch(map: BpfMap<Lb4Key, Lb4Service>, entries: readonly (readonly [Lb4Key, Lb4Service])[]): void {
  batchWrite(map, entries, 8, 20, encodeLbKey, encodeService);
}

export function writeRevnatBatch(map: BpfMap<number, Lb4Revnat>, entries: readonly (readonly [number, Lb4Revnat])[]): void {
  batchWrite(map, entries, 4, 8, encodeU32, encodeRevnat);
}
