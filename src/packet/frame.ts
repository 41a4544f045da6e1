/**
 * Whole Ethernet frames: build one from a spec, decode one into its headers
 * with every checksum recomputed, and list what is wrong with a frame.
 */
import { decodeEthernet, encodeEthernet, ETHERNET_HEADER_LENGTH, EtherType, type EthernetHeader } from './ethernet.js';
import { decodeGeneve, encodeGeneve, GENEVE_PORT, GENEVE_PROTO_ETHERNET, type GeneveHeader, type GeneveSpec } from './geneve.js';
import { decodeIcmp, decodeIcmpQuote, encodeIcmp, IcmpType, quoteOf, type IcmpMessage, type IcmpSpec } from './icmp.js';
import { decodeIpv4, encodeIpv4, IpProtocol, type Ipv4Header, type Ipv4Spec } from './ipv4.js';
import { decodeTcp, encodeTcp, tcpChecksumValid, type TcpSegment, type TcpSpec } from './tcp.js';
import { decodeUdp, encodeUdp, udpChecksumState, type UdpDatagram, type UdpSpec } from './udp.js';

export const DEFAULT_SRC_MAC = '02:00:00:00:00:01';
export const DEFAULT_DST_MAC = '02:00:00:00:00:02';

export interface FrameSpec {
  readonly eth?: Partial<EthernetHeader>;
  /** `protocol` defaults from the L4 part given. */
  readonly ip: Omit<Ipv4Spec, 'protocol'> & { readonly protocol?: number };
  /** At most one L4 part; none with `raw` for any other payload. */
  readonly tcp?: TcpSpec;
  readonly udp?: UdpSpec;
  readonly icmp?: IcmpSpec;
  readonly raw?: Uint8Array;
  /** Bytes after the IPv4 datagram (Ethernet padding). */
  readonly trailer?: Uint8Array;
}

export function buildFrame(spec: FrameSpec): Buffer {
  const { ip } = spec;
  const parts = [spec.tcp, spec.udp, spec.icmp, spec.raw].filter((p) => p !== undefined);
  if (parts.length > 1) throw new TypeError('a frame has at most one of tcp, udp, icmp, raw');
  let payload: Buffer;
  let protocol: number;
  if (spec.tcp) { payload = encodeTcp(spec.tcp, ip.src, ip.dst); protocol = IpProtocol.TCP; }
  else if (spec.udp) { payload = encodeUdp(spec.udp, ip.src, ip.dst); protocol = IpProtocol.UDP; }
  else if (spec.icmp) { payload = encodeIcmp(spec.icmp); protocol = IpProtocol.ICMP; }
  else { payload = Buffer.from(spec.raw ?? []); protocol = ip.protocol ?? 0; }
  const eth = encodeEthernet({
    dst: spec.eth?.dst ?? DEFAULT_DST_MAC, src: spec.eth?.src ?? DEFAULT_SRC_MAC, etherType: spec.eth?.etherType ?? EtherType.IPV4,
  });
  const header = encodeIpv4({ ...ip, protocol: ip.protocol ?? protocol }, payload.length);
  return Buffer.concat([eth, header, payload, Buffer.from(spec.trailer ?? [])]);
}

export interface IcmpErrorSpec {
  readonly eth?: Partial<EthernetHeader>;
  /** The error's own IPv4 header (who reports, to whom). */
  readonly ip: Omit<Ipv4Spec, 'protocol'>;
  readonly type: number;
  readonly code: number;
  /** Next-hop MTU (fragmentation needed). */
  readonly mtu?: number;
  /** The frame the error is about: its IPv4 header and `l4Bytes` of payload are quoted. */
  readonly about: Uint8Array;
  readonly l4Bytes?: number;
}

/** An ICMP error quoting a packet (RFC 792), every checksum computed from scratch. */
export function buildIcmpError(spec: IcmpErrorSpec): Buffer {
  return buildFrame({
    eth: spec.eth,
    ip: { df: false, ...spec.ip },
    icmp: { type: spec.type, code: spec.code, rest: spec.mtu ?? 0, payload: quoteOf(spec.about, spec.l4Bytes) },
  });
}

export interface GeneveFrameSpec {
  readonly eth?: Partial<EthernetHeader>;
  readonly outer: Omit<Ipv4Spec, 'protocol'>;
  readonly sport: number;
  readonly dport?: number;
  readonly geneve?: GeneveSpec;
  readonly inner: Uint8Array;
  /** UDP checksum: 'none' (default, as dsrlb sends) or computed. */
  readonly udpChecksum?: 'none' | 'computed';
}

/** A Geneve-encapsulated frame around `inner` (a whole Ethernet frame). */
export function buildGeneveFrame(spec: GeneveFrameSpec): Buffer {
  return buildFrame({
    eth: spec.eth,
    ip: spec.outer,
    udp: {
      sport: spec.sport, dport: spec.dport ?? GENEVE_PORT,
      payload: Buffer.concat([encodeGeneve(spec.geneve), spec.inner]),
      ...(spec.udpChecksum === 'computed' ? {} : { checksum: 'none' as const }),
    },
  });
}

export interface DecodedTcp extends TcpSegment { readonly checksumValid: boolean }
export interface DecodedUdp extends UdpDatagram { readonly checksumState: 'none' | 'valid' | 'invalid' }
export interface DecodedGeneve extends GeneveHeader { readonly inner: DecodedFrame }

export interface DecodedFrame {
  readonly length: number;
  readonly eth: EthernetHeader;
  readonly ip: Ipv4Header | null;
  readonly tcp: DecodedTcp | null;
  readonly udp: DecodedUdp | null;
  readonly icmp: IcmpMessage | null;
  /** Set for UDP to the Geneve port carrying Ethernet. */
  readonly geneve: DecodedGeneve | null;
  /** Bytes after the IPv4 datagram. */
  readonly trailer: Buffer;
}

export interface DecodeOptions { readonly genevePort?: number }

/** Decodes a frame; throws RangeError when a header is cut short or inconsistent. */
export function decodeFrame(buf: Buffer, opts: DecodeOptions = {}): DecodedFrame {
  const eth = decodeEthernet(buf);
  const none = { tcp: null, udp: null, icmp: null, geneve: null };
  if (eth.etherType !== EtherType.IPV4) return { length: buf.length, eth, ip: null, ...none, trailer: Buffer.alloc(0) };
  const ipOff = ETHERNET_HEADER_LENGTH;
  const ip = decodeIpv4(buf, ipOff);
  if (ip.totalLength < ip.headerLength || ipOff + ip.totalLength > buf.length) throw new RangeError(`IPv4 total length ${ip.totalLength} does not fit the frame`);
  const l4Off = ipOff + ip.headerLength;
  const l4Len = ip.totalLength - ip.headerLength;
  const trailer = Buffer.from(buf.subarray(ipOff + ip.totalLength));
  const base = { length: buf.length, eth, ip, ...none, trailer };
  if (ip.mf || ip.fragmentOffset !== 0) return base;
  const segment = buf.subarray(l4Off, l4Off + l4Len);
  switch (ip.protocol) {
    case IpProtocol.TCP:
      return { ...base, tcp: { ...decodeTcp(buf, l4Off, l4Len), checksumValid: tcpChecksumValid(segment, ip.src, ip.dst) } };
    case IpProtocol.UDP: {
      const udp = decodeUdp(buf, l4Off, l4Len);
      const datagram = buf.subarray(l4Off, l4Off + udp.length);
      const decoded: DecodedUdp = { ...udp, checksumState: udpChecksumState(datagram, ip.src, ip.dst) };
      if (udp.dport !== (opts.genevePort ?? GENEVE_PORT)) return { ...base, udp: decoded };
      const gOff = l4Off + 8;
      const gLen = udp.length - 8;
      const g = decodeGeneve(buf, gOff, gLen);
      if (g.protocol !== GENEVE_PROTO_ETHERNET) return { ...base, udp: decoded };
      const inner = decodeFrame(Buffer.from(buf.subarray(gOff + g.headerLength, gOff + gLen)), opts);
      return { ...base, udp: decoded, geneve: { ...g, inner } };
    }
    case IpProtocol.ICMP:
      return { ...base, icmp: decodeIcmp(buf, l4Off, l4Len) };
    default:
      return base;
  }
}

/** ICMP types whose payload quotes a packet (errors). */
const QUOTING_TYPES: ReadonlySet<number> = new Set([IcmpType.DEST_UNREACH, IcmpType.TIME_EXCEEDED, IcmpType.PARAMETER_PROBLEM]);

function quoteProblems(payload: Buffer, where: string): string[] {
  try {
    return decodeIcmpQuote(payload).ip.checksumValid ? [] : [`${where}quoted IPv4 header checksum`];
  } catch {
    return [`${where}quote too short`];
  }
}

function checksumProblems(f: DecodedFrame, where: string): string[] {
  const out: string[] = [];
  if (f.ip && !f.ip.checksumValid) out.push(`${where}IPv4 header checksum`);
  if (f.ip && f.ip.version !== 4) out.push(`${where}IPv4 version ${f.ip.version}`);
  if (f.tcp && !f.tcp.checksumValid) out.push(`${where}TCP checksum`);
  if (f.udp?.checksumState === 'invalid') out.push(`${where}UDP checksum`);
  if (f.icmp && !f.icmp.checksumValid) out.push(`${where}ICMP checksum`);
  if (f.icmp && QUOTING_TYPES.has(f.icmp.type)) out.push(...quoteProblems(f.icmp.payload, where));
  if (f.geneve) out.push(...checksumProblems(f.geneve.inner, `${where}inner `));
  return out;
}

/**
 * What is wrong with a frame a program transmitted: an empty list means it
 * decodes (inner frames included) and every checksum verifies.
 */
export function frameProblems(buf: Buffer, opts: DecodeOptions = {}): string[] {
  let f: DecodedFrame;
  try {
    f = decodeFrame(buf, opts);
  } catch (e) {
    return [(e as Error).message];
  }
  if (!f.ip) return [`not IPv4 (EtherType 0x${f.eth.etherType.toString(16)})`];
  return checksumProblems(f, '');
}
