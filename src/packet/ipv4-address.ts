/** Dotted-quad IPv4 addresses as they lie in a packet (4 bytes, network order). */

export function ipv4ToBytes(address: string): Buffer {
  const parts = address.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) {
    throw new RangeError(`not an IPv4 address: ${address}`);
  }
  return Buffer.from(parts.map(Number));
}

export function ipv4FromBytes(buf: Uint8Array, offset = 0): string {
  if (offset + 4 > buf.length) throw new RangeError('IPv4 address runs past the buffer');
  return Array.from(buf.subarray(offset, offset + 4)).join('.');
}
