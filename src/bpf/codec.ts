/**
 * Typed codecs for map keys and values. A struct codec lists its fields in C
 * order with explicit padding, so its layout can be compared field by field
 * with the compiled object's BTF (test/bpf/codecs-btf.test.ts).
 */
import { ipv4Value } from '../net/ip.js';

export interface Codec<T> {
  readonly size: number;
  encode(value: T): Buffer;
  decode(buf: Buffer, offset?: number): T;
}

export interface FieldKind<T> {
  readonly size: number;
  read(buf: Buffer, offset: number): T;
  write(buf: Buffer, offset: number, value: T): void;
}

interface PadKind extends FieldKind<undefined> { readonly pad: true }

export const u8: FieldKind<number> = { size: 1, read: (b, o) => b.readUInt8(o), write: (b, o, v) => { b.writeUInt8(v, o); } };
export const u16: FieldKind<number> = { size: 2, read: (b, o) => b.readUInt16LE(o), write: (b, o, v) => { b.writeUInt16LE(v, o); } };
export const u32: FieldKind<number> = { size: 4, read: (b, o) => b.readUInt32LE(o), write: (b, o, v) => { b.writeUInt32LE(v, o); } };
export const u64: FieldKind<bigint> = { size: 8, read: (b, o) => b.readBigUInt64LE(o), write: (b, o, v) => { b.writeBigUInt64LE(v, o); } };
export const i16: FieldKind<number> = { size: 2, read: (b, o) => b.readInt16LE(o), write: (b, o, v) => { b.writeInt16LE(v, o); } };
/** Network byte order (__be16 / __be32), exposed as host numbers. */
export const be16: FieldKind<number> = { size: 2, read: (b, o) => b.readUInt16BE(o), write: (b, o, v) => { b.writeUInt16BE(v, o); } };
export const be32: FieldKind<number> = { size: 4, read: (b, o) => b.readUInt32BE(o), write: (b, o, v) => { b.writeUInt32BE(v, o); } };

/** An IPv4 address held as __be32, exposed as dotted quad. */
export const ipv4: FieldKind<string> = {
  size: 4,
  read: (b, o) => `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`,
  write: (b, o, v) => {
    const value = ipv4Value(v);
    if (value < 0) throw new RangeError(`not an IPv4 address: ${v}`);
    b.writeUInt32BE(value, o);
  },
};

/** Explicit padding: always written as zero, not part of the decoded value. */
export function pad(size: number): PadKind {
  return { size, pad: true, read: () => undefined, write: () => undefined };
}

/** Fixed-size byte array (e.g. a MAC address). */
export function bytes(size: number): FieldKind<Buffer> {
  return {
    size,
    read: (b, o) => Buffer.from(b.subarray(o, o + size)),
    write: (b, o, v) => {
      if (v.length !== size) throw new RangeError(`expected ${size} bytes, got ${v.length}`);
      v.copy(b, o);
    },
  };
}

/** A struct member that is itself a struct (e.g. an lb4_tuple inside an event). */
export function nested<T>(codec: Codec<T>): FieldKind<T> {
  return {
    size: codec.size,
    read: (b, o) => codec.decode(b, o),
    write: (b, o, v) => { codec.encode(v).copy(b, o); },
  };
}

type Spec = Record<string, FieldKind<unknown>>;
export type StructValue<S extends Spec> = {
  [K in keyof S as S[K] extends PadKind ? never : K]: S[K] extends FieldKind<infer V> ? V : never;
};

export interface FieldLayout { readonly name: string; readonly offset: number; readonly size: number; readonly pad: boolean }

export interface StructCodec<T> extends Codec<T> {
  /** The C struct this mirrors in bpf/include/dsrlb.h. */
  readonly cName: string;
  readonly fields: readonly FieldLayout[];
}

export function struct<S extends Spec>(cName: string, spec: S): StructCodec<StructValue<S>> {
  const fields: FieldLayout[] = [];
  const kinds: [string, FieldKind<unknown>, number][] = [];
  let offset = 0;
  for (const [name, kind] of Object.entries(spec)) {
    const isPad = 'pad' in kind;
    fields.push({ name, offset, size: kind.size, pad: isPad });
    if (!isPad) kinds.push([name, kind, offset]);
    offset += kind.size;
  }
  const size = offset;
  return {
    cName,
    size,
    fields,
    encode(value) {
      const buf = Buffer.alloc(size);
      const rec = value as Record<string, unknown>;
      for (const [name, kind, off] of kinds) {
        const v = rec[name];
        if (v === undefined) throw new TypeError(`${cName}.${name} is missing`);
        kind.write(buf, off, v);
      }
      return buf;
    },
    decode(buf, base = 0) {
      const out: Record<string, unknown> = {};
      for (const [name, kind, off] of kinds) out[name] = kind.read(buf, base + off);
      return out as StructValue<S>;
    },
  };
}

/** A bare scalar key or value (array indexes, Maglev slots). */
export function scalar<T>(kind: FieldKind<T>): Codec<T> {
  return {
    size: kind.size,
    encode(v) { const b = Buffer.alloc(kind.size); kind.write(b, 0, v); return b; },
    decode(b, o = 0) { return kind.read(b, o); },
  };
}
