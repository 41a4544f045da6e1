/**
 * The Internet checksum (RFC 1071), computed from scratch over whole
 * buffers, so tests check the datapath's incremental updates independently.
 */

/** One's complement sum of big-endian 16-bit words, not folded. An odd last byte is padded with zero. */
export function onesComplementSum(data: Uint8Array, initial = 0): number {
  let sum = initial;
  const even = data.length & ~1;
  for (let i = 0; i < even; i += 2) sum += ((data[i] ?? 0) << 8) | (data[i + 1] ?? 0);
  if (even !== data.length) sum += (data[even] ?? 0) << 8;
  return sum;
}

/** Folds carries back into 16 bits. */
export function foldSum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The checksum field value for the concatenation of `parts` (checksum field zeroed). */
export function internetChecksum(...parts: readonly Uint8Array[]): number {
  return ~foldSum(onesComplementSum(Buffer.concat(parts))) & 0xffff;
}

/** True when `parts` (checksum field included) sum to all ones, i.e. the checksum is right. */
export function checksumIsValid(...parts: readonly Uint8Array[]): boolean {
  return internetChecksum(...parts) === 0;
}
