/** IPv4 fragmentation (RFC 791 §3.2), as a sending stack does it: for tests of fragment handling. */
import { ETHERNET_HEADER_LENGTH } from './ethernet.js';
import { decodeIpv4, encodeIpv4 } from './ipv4.js';

/**
 * Splits the IPv4 datagram of an Ethernet frame into fragments of at most
 * `mtu` bytes each (IPv4 header included), every payload but the last a
 * multiple of 8 bytes, in order. The headers are the original's with DF
 * clear, MF and the offset set, and their checksums recomputed; options
 * are copied into the first fragment only.
 */
export function fragmentFrame(frame: Uint8Array, mtu: number): Buffer[] {
  const buf = Buffer.from(frame);
  const ip = decodeIpv4(buf, ETHERNET_HEADER_LENGTH);
  const eth = buf.subarray(0, ETHERNET_HEADER_LENGTH);
  const payload = buf.subarray(ETHERNET_HEADER_LENGTH + ip.headerLength, ETHERNET_HEADER_LENGTH + ip.totalLength);
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length;) {
    const options = off === 0 ? ip.options : Buffer.alloc(0);
    const room = Math.floor((mtu - 20 - options.length) / 8) * 8;
    if (room <= 0) throw new RangeError(`MTU ${mtu} leaves no room for fragment data`);
    const part = payload.subarray(off, off + room);
    const header = encodeIpv4({
      src: ip.src, dst: ip.dst, protocol: ip.protocol, tos: ip.tos, id: ip.id, ttl: ip.ttl, options,
      df: false, mf: off + part.length < payload.length || ip.mf, fragmentOffset: (off / 8) + ip.fragmentOffset,
    }, part.length);
    out.push(Buffer.concat([eth, header, part]));
    off += part.length;
  }
  return out;
}
