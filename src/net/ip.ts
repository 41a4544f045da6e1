/**
 * The one IP address and CIDR parser of src/ (src/packet keeps its own on
 * purpose: it is the tests' independent oracle). parseIp/parseCidr have the
 * API server's strictness: dotted-quad IPv4 without leading zeros, IPv6
 * without zone. Addresses come back in canonical text (RFC 5952 for IPv6),
 * the form Go's net.IP.String() prints, so equal addresses compare equal as
 * strings.
 *
 * parseIpSloppy/parseCidrSloppy read what kube-proxy's ParseIPSloppy reads
 * (Go's parser before 1.17): leading zeros in an IPv4 component are decimal,
 * "010.001.002.003" is 10.1.2.3. Older API servers accepted such values, so
 * stored objects may carry them; the sources read object fields this way
 * (with a warning) and rewrite them canonically. dsrlb's own flags stay
 * strict: an operator who types 010.0.0.1 may mean octal, and is asked.
 *
 * The lowest layer: sources, plan, codecs, agent and CLI all import it, and
 * it imports nothing from src/. Every rule about what an IPv4 text means
 * lives in ipv4Value.
 */
import ipaddr from 'ipaddr.js';

export type IPFamily = 'IPv4' | 'IPv6';

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
 * new objects), or -1; `sloppy`: leading zeros allowed and read as decimal.
 * By hand and allocation-free: validation and the plan read every endpoint
 * address, 100,000 of them in a large cluster.
 */
export function ipv4Value(text: string, sloppy = false): number {
  const len = text.length;
  if (len < 7 || (len > 15 && !sloppy)) return -1;
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
      if (digits > 0 && octet === 0 && !sloppy) return -1; // a leading zero
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

/** parseIp, or else kube-proxy's reading of an IPv4 address with leading zeros (`sloppy` true). */
export function parseIpSloppy(text: string): (ParsedIp & { readonly sloppy: boolean }) | null {
  const strict = parseIp(text);
  if (strict) return { ...strict, sloppy: false };
  if (typeof text !== 'string' || text.includes(':')) return null;
  const v = ipv4Value(text, true);
  return v < 0 ? null : { family: 'IPv4', address: formatIpv4(v), sortKey: ipv4SortKey(v), sloppy: true };
}

/** parseIp(text)?.family, without building the parsed address for IPv4. */
export function ipFamilyOf(text: string): IPFamily | null {
  if (typeof text !== 'string') return null;
  if (!text.includes(':')) return ipv4Value(text) < 0 ? null : 'IPv4';
  return parseIp(text)?.family ?? null;
}

/** Dotted quad of a value in [0, 2^32). */
export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

export interface Ipv4Cidr {
  /** The network address's value, host bits cleared. */
  readonly network: number;
  readonly prefixLength: number;
}

/** "a.b.c.d/n" with n in [0, 32] -> its network, or null; `sloppy` as in ipv4Value. */
export function parseIpv4Cidr(text: string, sloppy = false): Ipv4Cidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const prefixLength = prefixOf(text, slash, 32);
  const value = prefixLength < 0 ? -1 : ipv4Value(text.slice(0, slash), sloppy);
  if (value < 0) return null;
  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  return { network: (value & mask) >>> 0, prefixLength };
}

/** The decimal prefix length after `slash` (1 to 3 digits, at most `max`), or -1. */
function prefixOf(text: string, slash: number, max: number): number {
  const digits = text.length - slash - 1;
  if (digits < 1 || digits > 3) return -1;
  let n = 0;
  for (let i = slash + 1; i < text.length; i++) {
    const d = text.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n > max ? -1 : n;
}

export function parseCidr(text: string): ParsedCidr | null {
  if (typeof text !== 'string') return null;
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const addr = text.slice(0, slash);
  if (!addr.includes(':')) {
    const v4 = parseIpv4Cidr(text);
    return v4 && { family: 'IPv4', cidr: `${formatIpv4(v4.network)}/${v4.prefixLength}` };
  }
  const prefix = prefixOf(text, slash, 128);
  if (prefix < 0 || addr.includes('%') || !ipaddr.IPv6.isValid(addr)) return null;
  return { family: 'IPv6', cidr: `${ipaddr.IPv6.networkAddressFromCIDR(`${addr}/${prefix}`).toString()}/${prefix}` };
}

/**
 * parseCidr, or else kube-proxy's reading of an IPv4 CIDR with leading zeros:
 * `text` is the address read as decimal with the prefix as given (host bits
 * kept, as written), `cidr` the canonical network.
 */
export function parseCidrSloppy(text: string): (ParsedCidr & { readonly sloppy: boolean; readonly text: string }) | null {
  const strict = parseCidr(text);
  if (strict) return { ...strict, sloppy: false, text };
  if (typeof text !== 'string' || text.includes(':')) return null;
  const v4 = parseIpv4Cidr(text, true);
  if (!v4) return null;
  const address = ipv4Value(text.slice(0, text.indexOf('/')), true);
  return { family: 'IPv4', cidr: `${formatIpv4(v4.network)}/${v4.prefixLength}`, sloppy: true, text: `${formatIpv4(address)}/${v4.prefixLength}` };
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
