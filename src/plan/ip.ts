/**
 * IP address and CIDR helpers with the API server's strictness: dotted-quad
 * IPv4 without leading zeros, IPv6 without zone. Addresses come back in
 * canonical text (RFC 5952 for IPv6), the form Go's net.IP.String() prints,
 * so equal addresses compare equal as strings.
 */
import ipaddr from 'ipaddr.js';
import type { IPFamily } from './types.js';

export interface ParsedIp {
  readonly family: IPFamily;
  /** Canonical text. */
  readonly address: string;
  readonly bytes: readonly number[];
  /** Sorts IPv4 before IPv6, then numerically, when compared as a string. */
  readonly sortKey: string;
}

export interface ParsedCidr {
  readonly family: IPFamily;
  /** Canonical "network/prefix" with the host bits cleared, as Go's ParseCIDR returns it. */
  readonly cidr: string;
}

export function parseIp(text: string): ParsedIp | null {
  if (typeof text !== 'string') return null;
  if (!text.includes(':')) return parseIPv4(text);
  if (text.includes('%') || !ipaddr.IPv6.isValid(text)) return null;
  const v6 = ipaddr.IPv6.parse(text);
  // Go treats an IPv4-mapped IPv6 address as IPv4 (To4() != nil); so does kube-proxy.
  if (v6.isIPv4MappedAddress()) return parseIPv4(v6.toIPv4Address().toString());
  const bytes = v6.toByteArray();
  return { family: 'IPv6', address: v6.toString(), bytes, sortKey: `6${hex(bytes)}` };
}

const OCTET = /^(?:0|[1-9]\d{0,2})$/;

/**
 * Dotted quad without leading zeros (the API server's rule for new objects).
 * Parsed by hand: the plan parses every endpoint address, so this is on the
 * hot path. A valid dotted quad is already its own canonical text.
 */
function parseIPv4(text: string): ParsedIp | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!OCTET.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return { family: 'IPv4', address: text, bytes, sortKey: `4${hex(bytes)}` };
}

function hex(bytes: readonly number[]): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

export function ipFamilyOf(text: string): IPFamily | null {
  return parseIp(text)?.family ?? null;
}

export function parseCidr(text: string): ParsedCidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  if (!addr.includes(':')) {
    if (prefix > 32 || !parseIPv4(addr)) return null;
    return { family: 'IPv4', cidr: `${ipaddr.IPv4.networkAddressFromCIDR(`${addr}/${prefix}`).toString()}/${prefix}` };
  }
  if (addr.includes('%') || !ipaddr.IPv6.isValid(addr) || prefix > 128) return null;
  return { family: 'IPv6', cidr: `${ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`).toString()}/${prefix}` };
}

/** Orders IPv4 before IPv6, then numerically; anything unparsable last. */
export function compareIps(a: string, b: string): number {
  if (a === b) return 0;
  const ka = parseIp(a)?.sortKey ?? `x${a}`;
  const kb = parseIp(b)?.sortKey ?? `x${b}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Orders CIDRs by network address, then prefix length. */
export function compareCidrs(a: string, b: string): number {
  const [na = '', pa = '0'] = a.split('/');
  const [nb = '', pb = '0'] = b.split('/');
  return compareIps(na, nb) || Number(pa) - Number(pb);
}
