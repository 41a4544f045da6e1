/** IPv4 headers (RFC 791), options included. */
import { checksumIsValid, internetChecksum } from './checksum.js';
import { ipv4FromBytes, ipv4ToBytes } from './ipv4-address.js';

export const IPV4_MIN_HEADER_LENGTH = 20;
export const IpProtocol = { ICMP: 1, TCP: 6, UDP: 17, SCTP: 132 } as const;
const FLAG_DF = 0x4000;
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;

export interface Ipv4Spec {
  readonly src: string;
  readonly dst: string;
  readonly protocol: number;
  readonly tos?: number;
  readonly id?: number;
  /** Default true: what a TCP stack with path MTU discovery sends. */
  readonly df?: boolean;
  readonly mf?: boolean;
  /** In 8-byte units. */
  readonly fragmentOffset?: number;
  readonly ttl?: number;
  /** Raw option bytes; padded with zeros (End of Options) to a multiple of 4. */
  readonly options?: Uint8Array;
  /** Overrides, to build malformed headers. */
  readonly ihl?: number;
  readonly version?: number;
  readonly totalLength?: number;
  readonly checksum?: number;
}

export interface Ipv4Header {
  readonly version: number;
  readonly ihl: number;
  readonly headerLength: number;
  readonly tos: number;
  readonly totalLength: number;
  readonly id: number;
  readonly df: boolean;
  readonly mf: boolean;
  readonly fragmentOffset: number;
  readonly ttl: number;
  readonly protocol: number;
  readonly checksum: number;
  /** Recomputed over the header as received. */
  readonly checksumValid: boolean;
  readonly src: string;
  readonly dst: string;
  readonly options: Buffer;
}

/** The header for a datagram carrying `payloadLength` bytes. */
export function encodeIpv4(spec: Ipv4Spec, payloadLength: number): Buffer {
  const opts = Buffer.from(spec.options ?? []);
  const optLen = Math.ceil(opts.length / 4) * 4;
  const hlen = IPV4_MIN_HEADER_LENGTH + optLen;
  if (hlen > 60) throw new RangeError('IPv4 options longer than 40 bytes');
  const buf = Buffer.alloc(hlen);
  buf[0] = ((spec.version ?? 4) << 4) | (spec.ihl ?? hlen / 4);
  buf[1] = spec.tos ?? 0;
  buf.writeUInt16BE(spec.totalLength ?? hlen + payloadLength, 2);
  buf.writeUInt16BE(spec.id ?? 0, 4);
  const flags = ((spec.df ?? true) ? FLAG_DF : 0) | (spec.mf ? FLAG_MF : 0);
  buf.writeUInt16BE(flags | ((spec.fragmentOffset ?? 0) & OFFSET_MASK), 6);
  buf[8] = spec.ttl ?? 64;
  buf[9] = spec.protocol;
  ipv4ToBytes(spec.src).copy(buf, 12);
  ipv4ToBytes(spec.dst).copy(buf, 16);
  opts.copy(buf, IPV4_MIN_HEADER_LENGTH);
  buf.writeUInt16BE(spec.checksum ?? internetChecksum(buf), 10);
  return buf;
}

export function decodeIpv4(buf: Buffer, offset = 0): Ipv4Header {
  if (offset + IPV4_MIN_HEADER_LENGTH > buf.length) throw new RangeError('shorter than an IPv4 header');
  const ihl = (buf[offset] ?? 0) & 0x0f;
  const headerLength = ihl * 4;
  if (headerLength < IPV4_MIN_HEADER_LENGTH || offset + headerLength > buf.length) throw new RangeError(`bad IPv4 header length ${headerLength}`);
  const header = buf.subarray(offset, offset + headerLength);
  const fragment = buf.readUInt16BE(offset + 6);
  return {
    version: (buf[offset] ?? 0) >> 4,
    ihl,
    headerLength,
    tos: buf[offset + 1] ?? 0,
    totalLength: buf.readUInt16BE(offset + 2),
    id: buf.readUInt16BE(offset + 4),
    df: (fragment & FLAG_DF) !== 0,
    mf: (fragment & FLAG_MF) !== 0,
    fragmentOffset: fragment & OFFSET_MASK,
    ttl: buf[offset + 8] ?? 0,
    protocol: buf[offset + 9] ?? 0,
    checksum: buf.readUInt16BE(offset + 10),
    checksumValid: checksumIsValid(header),
    src: ipv4FromBytes(buf, offset + 12),
    dst: ipv4FromBytes(buf, offset + 16),
    options: Buffer.from(buf.subarray(offset + IPV4_MIN_HEADER_LENGTH, offset + headerLength)),
  };
}

/** The 12-byte pseudo-header TCP and UDP checksums cover. */
export function pseudoHeader(src: string, dst: string, protocol: number, length: number): Buffer {
  const buf = Buffer.alloc(12);
  ipv4ToBytes(src).copy(buf, 0);
  ipv4ToBytes(dst).copy(buf, 4);
  buf[9] = protocol;
  buf.writeUInt16BE(length, 10);
  return buf;
}
