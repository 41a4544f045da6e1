/** ICMP messages (RFC 792), in particular destination unreachable with a quote. */
import { checksumIsValid, internetChecksum } from './checksum.js';
import { ETHERNET_HEADER_LENGTH } from './ethernet.js';
import { decodeIpv4, type Ipv4Header } from './ipv4.js';

export const ICMP_HEADER_LENGTH = 8;
export const IcmpType = { ECHO_REPLY: 0, DEST_UNREACH: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11, PARAMETER_PROBLEM: 12 } as const;
export const IcmpUnreachCode = { NET: 0, HOST: 1, PROTOCOL: 2, PORT: 3, FRAG_NEEDED: 4 } as const;
/** Every code each error type defines (RFC 792, 1122, 1812). */
export const IcmpErrorCodes: Readonly<Record<number, readonly number[]>> = {
  [IcmpType.DEST_UNREACH]: Array.from({ length: 16 }, (_, i) => i),
  [IcmpType.TIME_EXCEEDED]: [0, 1],
  [IcmpType.PARAMETER_PROBLEM]: [0, 1, 2],
};

export interface IcmpSpec {
  readonly type: number;
  readonly code: number;
  /** Bytes 4-7: identifier/sequence, or unused(16) + next-hop MTU(16). */
  readonly rest?: number;
  readonly payload?: Uint8Array;
}

export interface IcmpMessage {
  readonly type: number;
  readonly code: number;
  readonly checksum: number;
  readonly checksumValid: boolean;
  readonly rest: number;
  /** The low 16 bits of `rest`: next-hop MTU in fragmentation-needed. */
  readonly nextHopMtu: number;
  readonly payload: Buffer;
}

export function encodeIcmp(spec: IcmpSpec): Buffer {
  const payload = Buffer.from(spec.payload ?? []);
  const buf = Buffer.alloc(ICMP_HEADER_LENGTH + payload.length);
  buf[0] = spec.type;
  buf[1] = spec.code;
  buf.writeUInt32BE((spec.rest ?? 0) >>> 0, 4);
  payload.copy(buf, ICMP_HEADER_LENGTH);
  buf.writeUInt16BE(internetChecksum(buf), 2);
  return buf;
}

export function decodeIcmp(buf: Buffer, offset: number, length: number): IcmpMessage {
  if (length < ICMP_HEADER_LENGTH || offset + length > buf.length) throw new RangeError('shorter than an ICMP header');
  const rest = buf.readUInt32BE(offset + 4);
  return {
    type: buf[offset] ?? 0,
    code: buf[offset + 1] ?? 0,
    checksum: buf.readUInt16BE(offset + 2),
    checksumValid: checksumIsValid(buf.subarray(offset, offset + length)),
    rest,
    nextHopMtu: rest & 0xffff,
    payload: Buffer.from(buf.subarray(offset + ICMP_HEADER_LENGTH, offset + length)),
  };
}

/**
 * What an ICMP error about `frame` (an Ethernet frame) quotes: its IPv4
 * header, options included, and the first `l4Bytes` of its payload (RFC 792
 * asks for 8; Linux quotes as much as fits in 576 bytes).
 */
export function quoteOf(frame: Uint8Array, l4Bytes = 8): Buffer {
  const buf = Buffer.from(frame);
  const ip = decodeIpv4(buf, ETHERNET_HEADER_LENGTH);
  const end = Math.min(ETHERNET_HEADER_LENGTH + ip.totalLength, ETHERNET_HEADER_LENGTH + ip.headerLength + l4Bytes);
  return Buffer.from(buf.subarray(ETHERNET_HEADER_LENGTH, end));
}

export interface IcmpQuote {
  readonly ip: Ipv4Header;
  readonly sport: number;
  readonly dport: number;
  /** The quoted L4 bytes. */
  readonly l4: Buffer;
}

/** Decodes the quote an ICMP error's payload carries (a TCP or UDP packet's start). */
export function decodeIcmpQuote(payload: Buffer): IcmpQuote {
  const ip = decodeIpv4(payload, 0);
  const l4 = Buffer.from(payload.subarray(ip.headerLength));
  if (l4.length < 4) throw new RangeError('the quote holds no ports');
  return { ip, sport: l4.readUInt16BE(0), dport: l4.readUInt16BE(2), l4 };
}
