/** Geneve (RFC 8926) headers and options, and dsrlb's DSR option (docs/design.md §1.2). */
import { ipv4ToBytes } from './ipv4-address.js';

export const GENEVE_HEADER_LENGTH = 8;
export const GENEVE_PORT = 6081;
export const GENEVE_PROTO_ETHERNET = 0x6558;
/** The DSR option: class, type (critical bit set) and payload length in words. */
export const DSR_OPTION = { optClass: 0x014b, type: 0x81, lengthWords: 2 } as const;
/** SNAT mode's marker: the DSR option's class and layout, its own type (no reverse NAT at the backend). */
export const SNAT_OPTION = { ...DSR_OPTION, type: 0x82 } as const;
/** The second chance (docs/datapath.md): the previous table's backend, the same layout, not critical. */
export const SECOND_CHANCE_OPTION = { ...DSR_OPTION, type: 0x03 } as const;
const OPTION_HEADER_LENGTH = 4;
const FLAG_OAM = 0x80;
const FLAG_CRITICAL = 0x40;
const TYPE_CRITICAL = 0x80;

export interface GeneveOption {
  readonly optClass: number;
  readonly type: number;
  /** Padded with zeros to a multiple of 4. */
  readonly data: Uint8Array;
  /** Overrides the length field (words), to build malformed options. */
  readonly lengthWords?: number;
}

export interface GeneveSpec {
  readonly version?: number;
  readonly oam?: boolean;
  /** Default: set when an option has the critical bit. */
  readonly critical?: boolean;
  readonly protocol?: number;
  readonly vni?: number;
  readonly options?: readonly GeneveOption[];
  /** Overrides Opt Len (words), to build malformed headers. */
  readonly optionsLengthWords?: number;
}

export interface DecodedGeneveOption {
  readonly optClass: number;
  readonly type: number;
  readonly critical: boolean;
  readonly lengthWords: number;
  readonly data: Buffer;
}

export interface GeneveHeader {
  readonly version: number;
  readonly oam: boolean;
  readonly critical: boolean;
  readonly protocol: number;
  readonly vni: number;
  /** Header plus options, in bytes: where the payload starts. */
  readonly headerLength: number;
  readonly options: readonly DecodedGeneveOption[];
}

function frontendOption(o: typeof DSR_OPTION | typeof SNAT_OPTION | typeof SECOND_CHANCE_OPTION, address: string, port: number): GeneveOption {
  const data = Buffer.alloc(o.lengthWords * 4);
  ipv4ToBytes(address).copy(data, 0);
  data.writeUInt16BE(port, 4);
  return { optClass: o.optClass, type: o.type, data };
}

/** The option telling the backend node which frontend the reply must come from. */
export function dsrOption(address: string, port: number): GeneveOption {
  return frontendOption(DSR_OPTION, address, port);
}

/** SNAT mode's marker: which frontend the (SNATed) packet is for. */
export function snatOption(address: string, port: number): GeneveOption {
  return frontendOption(SNAT_OPTION, address, port);
}

/** The second chance: a backend (pod address, port) the receiving node may forward a flow it does not know to. */
export function secondChanceOption(address: string, port: number): GeneveOption {
  return frontendOption(SECOND_CHANCE_OPTION, address, port);
}

function encodeOption(o: GeneveOption): Buffer {
  const words = Math.ceil(o.data.length / 4);
  const buf = Buffer.alloc(OPTION_HEADER_LENGTH + words * 4);
  buf.writeUInt16BE(o.optClass, 0);
  buf[2] = o.type;
  buf[3] = (o.lengthWords ?? words) & 0x1f;
  Buffer.from(o.data).copy(buf, OPTION_HEADER_LENGTH);
  return buf;
}

/** Base header and options (the inner frame follows). */
export function encodeGeneve(spec: GeneveSpec = {}): Buffer {
  const options = Buffer.concat((spec.options ?? []).map(encodeOption));
  const buf = Buffer.alloc(GENEVE_HEADER_LENGTH + options.length);
  const critical = spec.critical ?? (spec.options ?? []).some((o) => (o.type & TYPE_CRITICAL) !== 0);
  buf[0] = ((spec.version ?? 0) << 6) | ((spec.optionsLengthWords ?? options.length / 4) & 0x3f);
  buf[1] = (spec.oam ? FLAG_OAM : 0) | (critical ? FLAG_CRITICAL : 0);
  buf.writeUInt16BE(spec.protocol ?? GENEVE_PROTO_ETHERNET, 2);
  buf.writeUIntBE(spec.vni ?? 0, 4, 3);
  options.copy(buf, GENEVE_HEADER_LENGTH);
  return buf;
}

/** Decodes the header at `offset` within `length` bytes; throws on malformed options. */
export function decodeGeneve(buf: Buffer, offset: number, length: number): GeneveHeader {
  if (length < GENEVE_HEADER_LENGTH || offset + length > buf.length) throw new RangeError('shorter than a Geneve header');
  const optionsLength = ((buf[offset] ?? 0) & 0x3f) * 4;
  const headerLength = GENEVE_HEADER_LENGTH + optionsLength;
  if (headerLength > length) throw new RangeError('Geneve options run past the datagram');
  const options: DecodedGeneveOption[] = [];
  let off = offset + GENEVE_HEADER_LENGTH;
  const end = offset + headerLength;
  while (off < end) {
    if (off + OPTION_HEADER_LENGTH > end) throw new RangeError('Geneve option header cut short');
    const type = buf[off + 2] ?? 0;
    const lengthWords = (buf[off + 3] ?? 0) & 0x1f;
    const next = off + OPTION_HEADER_LENGTH + lengthWords * 4;
    if (next > end) throw new RangeError('Geneve option runs past the options');
    options.push({
      optClass: buf.readUInt16BE(off), type, critical: (type & TYPE_CRITICAL) !== 0, lengthWords,
      data: Buffer.from(buf.subarray(off + OPTION_HEADER_LENGTH, next)),
    });
    off = next;
  }
  return {
    version: (buf[offset] ?? 0) >> 6,
    oam: ((buf[offset + 1] ?? 0) & FLAG_OAM) !== 0,
    critical: ((buf[offset + 1] ?? 0) & FLAG_CRITICAL) !== 0,
    protocol: buf.readUInt16BE(offset + 2),
    vni: buf.readUIntBE(offset + 4, 3),
    headerLength,
    options,
  };
}
