/** ICMP messages (RFC 792), in particular destination unreachable with a quote. */
import { checksumIsValid, internetChecksum } from './checksum.js';

export const ICMP_HEADER_LENGTH = 8;
export const IcmpType = { ECHO_REPLY: 0, DEST_UNREACH: 3, ECHO_REQUEST: 8, TIME_EXCEEDED: 11 } as const;
export const IcmpUnreachCode = { NET: 0, HOST: 1, PROTOCOL: 2, PORT: 3, FRAG_NEEDED: 4 } as const;

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
