/**
 * The datapath's flow hash (bpf/lib/hash.h), so tests can predict the Maglev
 * slot and the Geneve source port. The BPF program reads addresses and ports
 * as they lie in the packet into little-endian registers (x86-64, arm64),
 * which is what the LE reads below reproduce.
 */
import { ipv4ToBytes } from './ipv4-address.js';

const HASH_INIT = 0xdeadbeef;
const GENEVE_SPORT_BASE = 0xc000;
const GENEVE_SPORT_MASK = 0x3fff;

export interface FlowTuple {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly proto: number;
}

function rol32(w: number, s: number): number {
  return ((w << s) | (w >>> (32 - s))) >>> 0;
}

/** lookup3's final(a, b, c) after adding the initial value and seed. */
export function hash3Words(a0: number, b0: number, c0: number, seed: number): number {
  const init = (HASH_INIT + seed) >>> 0;
  let a = (a0 + init) >>> 0;
  let b = (b0 + init) >>> 0;
  let c = (c0 + init) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

function wirePort(port: number): number {
  return ((port & 0xff) << 8) | (port >> 8);
}

/** flow_hash(): withSport false is the session-affinity hash. */
export function flowHash(t: FlowTuple, withSport = true): number {
  const ports = (((withSport ? wirePort(t.sport) : 0) << 16) | wirePort(t.dport)) >>> 0;
  return hash3Words(ipv4ToBytes(t.src).readUInt32LE(0), ipv4ToBytes(t.dst).readUInt32LE(0), ports, t.proto);
}

/** The outer UDP source port of the flow's Geneve packets. */
export function geneveSourcePort(t: FlowTuple): number {
  return GENEVE_SPORT_BASE | (flowHash(t) & GENEVE_SPORT_MASK);
}
