/** Ethernet II headers. MAC addresses are written "02:00:00:00:00:01". */

export const ETHERNET_HEADER_LENGTH = 14;
export const EtherType = { IPV4: 0x0800, ARP: 0x0806, VLAN: 0x8100, IPV6: 0x86dd } as const;

export interface EthernetHeader {
  readonly dst: string;
  readonly src: string;
  readonly etherType: number;
}

export function macToBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`not a MAC address: ${mac}`);
  return Buffer.from(parts.map((p) => parseInt(p, 16)));
}

export function macFromBytes(buf: Uint8Array, offset = 0): string {
  return Array.from(buf.subarray(offset, offset + 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

export function encodeEthernet(h: EthernetHeader): Buffer {
  const buf = Buffer.alloc(ETHERNET_HEADER_LENGTH);
  macToBytes(h.dst).copy(buf, 0);
  macToBytes(h.src).copy(buf, 6);
  buf.writeUInt16BE(h.etherType, 12);
  return buf;
}

export function decodeEthernet(buf: Buffer, offset = 0): EthernetHeader {
  if (offset + ETHERNET_HEADER_LENGTH > buf.length) throw new RangeError('frame shorter than an Ethernet header');
  return { dst: macFromBytes(buf, offset), src: macFromBytes(buf, offset + 6), etherType: buf.readUInt16BE(offset + 12) };
}
