/**
 * lb4_port_filter's layout (bpf/include/dsrlb.h): per protocol, a bitmap of
 * the destination ports no frontend uses, in __u64 words. A set bit lets
 * xdp_lb pass a packet without looking it up in lb4_services.
 */
import {
  DSRLB_PORT_FILTER_BIT_MASK, DSRLB_PORT_FILTER_TCP, DSRLB_PORT_FILTER_UDP, DSRLB_PORT_FILTER_WORD_SHIFT, DSRLB_PORT_FILTER_WORDS,
} from './consts.generated.js';
import { PROTOCOL_NUMBERS } from '../model/keys.js';

const TCP = PROTOCOL_NUMBERS.TCP;
const UDP = PROTOCOL_NUMBERS.UDP;

/** The word and bit of {proto, port} (port in host order). Only TCP and UDP are filtered. */
export function portFilterBit(proto: number, port: number): { word: number; bit: number } {
  if (proto !== TCP && proto !== UDP) throw new RangeError(`lb4_port_filter covers TCP and UDP, not protocol ${proto}`);
  const base = proto === UDP ? DSRLB_PORT_FILTER_UDP : DSRLB_PORT_FILTER_TCP;
  return { word: base + (port >> DSRLB_PORT_FILTER_WORD_SHIFT), bit: port & DSRLB_PORT_FILTER_BIT_MASK };
}

/**
 * Every word of the filter for these frontends: all bits set except those of
 * the frontends' {proto, port}. Frontends of other protocols (SCTP) are not
 * filtered and need no bit.
 */
export function portFilterWords(frontends: Iterable<{ readonly proto: number; readonly port: number }>): bigint[] {
  const words = new Array<bigint>(DSRLB_PORT_FILTER_WORDS).fill(0xffff_ffff_ffff_ffffn);
  for (const f of frontends) {
    if (f.proto !== TCP && f.proto !== UDP) continue;
    const { word, bit } = portFilterBit(f.proto, f.port);
    words[word] = (words[word] as bigint) & ~(1n << BigInt(bit));
  }
  return words;
}
