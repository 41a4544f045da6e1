/** TCP segments (RFC 9293): header, options, payload, checksum over the IPv4 pseudo-header. */
import { checksumIsValid, internetChecksum } from './checksum.js';
import { IpProtocol, pseudoHeader } from './ipv4.js';

export const TCP_MIN_HEADER_LENGTH = 20;
export const TcpOption = { EOL: 0, NOP: 1, MSS: 2, WINDOW_SCALE: 3, SACK_PERMITTED: 4, TIMESTAMP: 8 } as const;

export interface TcpFlags {
  readonly fin?: boolean;
  readonly syn?: boolean;
  readonly rst?: boolean;
  readonly psh?: boolean;
  readonly ack?: boolean;
  readonly urg?: boolean;
  readonly ece?: boolean;
  readonly cwr?: boolean;
}

const FLAG_BITS: readonly (readonly [keyof TcpFlags, number])[] = [
  ['fin', 0x01], ['syn', 0x02], ['rst', 0x04], ['psh', 0x08], ['ack', 0x10], ['urg', 0x20], ['ece', 0x40], ['cwr', 0x80],
];

export interface TcpSpec {
  readonly sport: number;
  readonly dport: number;
  readonly seq?: number;
  readonly ack?: number;
  readonly flags?: TcpFlags;
  readonly window?: number;
  /** Raw option bytes; padded with zeros to a multiple of 4. */
  readonly options?: Uint8Array;
  readonly payload?: Uint8Array;
  /** Overrides, to build malformed headers. */
  readonly dataOffset?: number;
  readonly checksum?: number;
}

export interface TcpSegment {
  readonly sport: number;
  readonly dport: number;
  readonly seq: number;
  readonly ack: number;
  readonly dataOffset: number;
  readonly headerLength: number;
  readonly flags: Required<TcpFlags>;
  readonly window: number;
  readonly checksum: number;
  readonly urgent: number;
  readonly options: Buffer;
  readonly payload: Buffer;
  /** The MSS option's value, if present. */
  readonly mss: number | null;
}

export function mssOption(mss: number): Buffer {
  const buf = Buffer.from([TcpOption.MSS, 4, 0, 0]);
  buf.writeUInt16BE(mss, 2);
  return buf;
}

export function encodeTcpFlags(flags: TcpFlags): number {
  return FLAG_BITS.reduce((acc, [name, bit]) => (flags[name] ? acc | bit : acc), 0);
}

export function decodeTcpFlags(byte: number): Required<TcpFlags> {
  const out: Record<string, boolean> = {};
  for (const [name, bit] of FLAG_BITS) out[name] = (byte & bit) !== 0;
  return out as Required<TcpFlags>;
}

/** The whole segment, checksummed for src -> dst. */
export function encodeTcp(spec: TcpSpec, src: string, dst: string): Buffer {
  const opts = Buffer.from(spec.options ?? []);
  const optLen = Math.ceil(opts.length / 4) * 4;
  const hlen = TCP_MIN_HEADER_LENGTH + optLen;
  if (hlen > 60) throw new RangeError('TCP options longer than 40 bytes');
  const payload = Buffer.from(spec.payload ?? []);
  const buf = Buffer.alloc(hlen + payload.length);
  buf.writeUInt16BE(spec.sport, 0);
  buf.writeUInt16BE(spec.dport, 2);
  buf.writeUInt32BE((spec.seq ?? 0) >>> 0, 4);
  buf.writeUInt32BE((spec.ack ?? 0) >>> 0, 8);
  buf[12] = (spec.dataOffset ?? hlen / 4) << 4;
  buf[13] = encodeTcpFlags(spec.flags ?? {});
  buf.writeUInt16BE(spec.window ?? 65535, 14);
  opts.copy(buf, TCP_MIN_HEADER_LENGTH);
  payload.copy(buf, hlen);
  buf.writeUInt16BE(spec.checksum ?? internetChecksum(pseudoHeader(src, dst, IpProtocol.TCP, buf.length), buf), 16);
  return buf;
}

function findMss(options: Buffer): number | null {
  let off = 0;
  while (off < options.length) {
    const kind = options[off] ?? TcpOption.EOL;
    if (kind === TcpOption.EOL) return null;
    if (kind === TcpOption.NOP) { off++; continue; }
    const len = options[off + 1] ?? 0;
    if (len < 2 || off + len > options.length) return null;
    if (kind === TcpOption.MSS && len === 4) return options.readUInt16BE(off + 2);
    off += len;
  }
  return null;
}

/** Decodes `length` bytes at `offset` (the IPv4 payload). */
export function decodeTcp(buf: Buffer, offset: number, length: number): TcpSegment {
  if (length < TCP_MIN_HEADER_LENGTH || offset + length > buf.length) throw new RangeError('shorter than a TCP header');
  const dataOffset = (buf[offset + 12] ?? 0) >> 4;
  const headerLength = dataOffset * 4;
  if (headerLength < TCP_MIN_HEADER_LENGTH || headerLength > length) throw new RangeError(`bad TCP data offset ${dataOffset}`);
  const options = Buffer.from(buf.subarray(offset + TCP_MIN_HEADER_LENGTH, offset + headerLength));
  return {
    sport: buf.readUInt16BE(offset),
    dport: buf.readUInt16BE(offset + 2),
    seq: buf.readUInt32BE(offset + 4),
    ack: buf.readUInt32BE(offset + 8),
    dataOffset,
    headerLength,
    flags: decodeTcpFlags(buf[offset + 13] ?? 0),
    window: buf.readUInt16BE(offset + 14),
    checksum: buf.readUInt16BE(offset + 16),
    urgent: buf.readUInt16BE(offset + 18),
    options,
    payload: Buffer.from(buf.subarray(offset + headerLength, offset + length)),
    mss: findMss(options),
  };
}

/** Recomputes the checksum of a whole segment as received. */
export function tcpChecksumValid(segment: Uint8Array, src: string, dst: string): boolean {
  return checksumIsValid(pseudoHeader(src, dst, IpProtocol.TCP, segment.length), segment);
}
