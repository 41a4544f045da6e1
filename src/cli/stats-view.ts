/**
 * `lbctl bpf stats`: the counters (packets; socket hooks: system calls), and
 * beside each forward counter (the paths dsrlb_forward_count_total reports)
 * the bytes it forwarded. JSON keeps its counter -> packets fields and gains
 * one, `bytes`: forward counter -> bytes.
 */
import { classify } from '../agent/datapath-counters.js';

/** Counter name -> packets, and `bytes` (no counter is so named): forward counter -> bytes. */
export type StatsJson = Record<string, number | Record<string, number>>;

const isForward = (name: string): boolean => classify(name).metric === 'forward';

/** `bytes` undefined: a datapath without stats_bytes (built before it), shown without bytes. */
export function statsJson(packets: Record<string, number>, bytes: Record<string, number> | undefined): StatsJson {
  if (!bytes) return { ...packets };
  const forwardBytes = Object.fromEntries(Object.keys(packets).filter(isForward).map((name) => [name, bytes[name] ?? 0]));
  return { ...packets, bytes: forwardBytes };
}

export function statsRows(packets: Record<string, number>, bytes: Record<string, number> | undefined): string[][] {
  return Object.entries(packets).map(([name, n]) => [name, String(n), bytes && isForward(name) ? String(bytes[name] ?? 0) : '-']);
}
