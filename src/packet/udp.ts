/** UDP datagrams (RFC 768); over IPv4 a zero checksum means "none". */
import { checksumIsValid, internetChecksum } from './checksum.js';
import { IpProtocol, pseudoHeader } from './ipv4.js';

export const UDP_HEADER_LENGTH = 8;

export interface UdpSpec {
  readonly sport: number;
  readonly dport: number;
  readonly payload?: Uint8Array;
  /** 'none' sends 0; a number overrides; default: computed. */
  readonly checksum?: number | 'none';
  /** Overrides the length field, to build malformed datagrams. */
  readonly length?: number;
}

export interface UdpDatagram {
  readonly sport: number;
  readonly dport: number;
  readonly length: number;
  readonly checksum: number;
  readonly payload: Buffer;
}

export function encodeUdp(spec: UdpSpec, src: string, dst: string): Buffer {
  const payload = Buffer.from(spec.payload ?? []);
  const buf = Buffer.alloc(UDP_HEADER_LENGTH + payload.length);
  buf.writeUInt16BE(spec.sport, 0);
  buf.writeUInt16BE(spec.dport, 2);
  buf.writeUInt16BE(spec.length ?? buf.length, 4);
  payload.copy(buf, UDP_HEADER_LENGTH);
  let check: number;
  if (spec.checksum === 'none') check = 0;
  else if (spec.checksum !== undefined) check = spec.checksum;
  else check = internetChecksum(pseudoHeader(src, dst, IpProtocol.UDP, buf.length), buf) || 0xffff;
  buf.writeUInt16BE(check, 6);
  return buf;
}

/** Decodes `length` bytes at `offset` (the IPv4 payload); the payload ends where the length field says. */
export function decodeUdp(buf: Buffer, offset: number, length: number): UdpDatagram {
  if (length < UDP_HEADER_LENGTH || offset + length > buf.length) throw new RangeError('shorter than a UDP header');
  const udpLength = buf.readUInt16BE(offset + 4);
  if (udpLength < UDP_HEADER_LENGTH || udpLength > length) throw new RangeError(`bad UDP length ${udpLength}`);
  return {
    sport: buf.readUInt16BE(offset),
    dport: buf.readUInt16BE(offset + 2),
    length: udpLength,
    checksum: buf.readUInt16BE(offset + 6),
    payload: Buffer.from(buf.subarray(offset + UDP_HEADER_LENGTH, offset + udpLength)),
  };
}

/** 'none' for a zero checksum, else whether it verifies. */
export function udpChecksumState(datagram: Uint8Array, src: string, dst: string): 'none' | 'valid' | 'invalid' {
  if (datagram.length >= UDP_HEADER_LENGTH && datagram[6] === 0 && datagram[7] === 0) return 'none';
  return checksumIsValid(pseudoHeader(src, dst, IpProtocol.UDP, datagram.length), datagram) ? 'valid' : 'invalid';
}
