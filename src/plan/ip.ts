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
  return { family: 'IPv6', address: v6.toString(), sortKey: `6${hex(v6.toByteArray())}` };
}

/**
 * The value of a dotted quad without leading zeros (the API server's rule for
 * new objects), or -1. By hand and allocation-free: validation and the plan
 * read every endpoint address, 100,000 of them in a large cluster.
 */
export function ipv4Value(text: string): number {
  const len = text.length;
  if (len < 7 || len > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) { // '.'
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      dots++;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (c - 0x30);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** A valid dotted quad is already its own canonical text. */
function parseIPv4(text: string): ParsedIp | null {
  const v = ipv4Value(text);
  if (v < 0) return null;
  return { family: 'IPv4', address: text, sortKey: ipv4SortKey(v) };
}

/** '4' and the address in eight hex digits, built in one go (Number#toString(16) costs several times more). */
function ipv4SortKey(v: number): string {
  return String.fromCharCode(0x34, hexDigit(v >>> 28), hexDigit((v >>> 24) & 15), hexDigit((v >>> 20) & 15), hexDigit((v >>> 16) & 15),
    hexDigit((v >>> 12) & 15), hexDigit((v >>> 8) & 15), hexDigit((v >>> 4) & 15), hexDigit(v & 15));
}

/** The char code of a lowercase hex digit. */
function hexDigit(x: number): number {
  return x < 10 ? 0x30 + x : 0x57 + x;
}

function hex(bytes: readonly number[]): string {
  let out = '';
  for (const b of bytes) out += (b < 16 ? '0' : '') + b.toString(16);
  return out;
}

/** parseIp(text)?.family, without building the parsed address for IPv4. */
export function ipFamilyOf(text: string): IPFamily | null {
  if (typeof text !== 'string') return null;
  if (!text.includes(':')) return ipv4Value(text) < 0 ? null : 'IPv4';
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
    if (prefix > 32 || ipv4Value(addr) < 0) return null;
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
