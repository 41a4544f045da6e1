/**
 * `lbctl monitor`'s pure part: the --service filter (parsed, a Service's
 * frontends picked from the agent's /v1/services, then matched against
 * events), and the two output forms: one human-readable line per event,
 * like `cilium monitor`, or one JSON object per line.
 */
import type { ServicesBody } from '../agent/services-endpoint.js';
import { isSocketHook, type MonitorEvent, type MonitorTuple } from '../bpf/monitor.js';
import { DsrlbError } from '../errors.js';
import { ipv4Value } from '../net/ip.js';
import { PROTOCOL_NUMBERS, type ProtocolName } from '../model/keys.js';

export interface Endpoint { readonly address: string; readonly port: number; readonly proto: number | null }

/** What --service selects: the Service's frontends, and their local backends (read from lb4_local_backends). */
export interface ServiceFilter {
  readonly frontends: readonly Endpoint[];
  readonly backends: readonly Endpoint[];
}

/** --service as given: a frontend, or a Service's namespace/name (resolved through the agent). */
export type ServiceArg = { readonly frontend: Endpoint } | { readonly service: string };

/** namespace/name: both DNS labels, as Kubernetes names them. */
const SERVICE_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?\/[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** `VIP:PORT[/tcp|udp|sctp]`, or `namespace/name`. */
export function parseServiceArg(text: string): ServiceArg {
  if (SERVICE_NAME.test(text)) return { service: text };
  const m = /^([0-9.]+):(\d{1,5})(?:\/(tcp|udp|sctp))?$/i.exec(text);
  const port = Number(m?.[2]);
  if (!m?.[1] || ipv4Value(m[1]) < 0 || port < 1 || port > 65535) {
    throw new DsrlbError('ERR_USAGE', `--service '${text}' is neither a frontend address:port nor a Service namespace/name`, {
      remedy: 'pass the frontend as VIP:PORT or VIP:PORT/PROTO (e.g. 203.0.113.10:80/tcp), or the Service as namespace/name (e.g. shop/web)',
    });
  }
  const proto = m[3] ? PROTOCOL_NUMBERS[m[3].toUpperCase() as ProtocolName] : null;
  return { frontend: { address: m[1], port, proto } };
}

/** The frontends the agent serves for Service `name` (namespace/name), as --service filters them. */
export function serviceFrontends(body: ServicesBody, name: string): Endpoint[] {
  return body.frontends.filter((f) => f.service === name)
    .map((f) => ({ address: f.address, port: f.port, proto: PROTOCOL_NUMBERS[f.protocol] }));
}

const same = (e: Endpoint, address: string, port: number, proto: number): boolean =>
  e.address === address && e.port === port && (e.proto === null || e.proto === proto);

/**
 * An event belongs to the service when its frontend (a Geneve option), the
 * packet's destination (arriving for it) or source (a reply rewritten to it)
 * is one of its frontends, or the packet goes to or comes from a local backend of
 * it (decapsulated, DNATed to a pod here, the pod's reply).
 */
export function matchesService(e: MonitorEvent, f: ServiceFilter): boolean {
  const t = e.tuple;
  const frontend = e.frontend;
  if (frontend && f.frontends.some((x) => same(x, frontend.address, frontend.port, t.proto))) return true;
  const ends = [[t.daddr, t.dport], [t.saddr, t.sport]] as const;
  return ends.some(([a, p]) => [...f.frontends, ...f.backends].some((x) => same(x, a, p, t.proto)));
}

const PROTOS: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 132: 'sctp' };
const protoText = (p: number): string => PROTOS[p] ?? `proto ${p}`;
const hasPorts = (p: number): boolean => p === 6 || p === 17 || p === 132;

function tupleText(t: MonitorTuple): string {
  return hasPorts(t.proto) ? `${t.saddr}:${t.sport} -> ${t.daddr}:${t.dport} ${protoText(t.proto)}` : `${t.saddr} -> ${t.daddr} ${protoText(t.proto)}`;
}

/** Event time on the wall clock: `offsetNs` = wall clock minus CLOCK_MONOTONIC, read when the batch was polled. */
export function wallTime(e: MonitorEvent, offsetNs: bigint): { date: Date; micros: number } {
  const ns = e.monotonicNs + offsetNs;
  return { date: new Date(Number(ns / 1_000_000n)), micros: Number((ns / 1000n) % 1_000_000n) };
}

const two = (n: number): string => String(n).padStart(2, '0');

/** One line: time, CPU, type, reason, program and device, tuple, then what a trace rewrote. */
export function formatText(e: MonitorEvent, offsetNs: bigint, device: string | undefined): string {
  const { date, micros } = wallTime(e, offsetNs);
  const time = `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(micros).padStart(6, '0')}`;
  const dev = isSocketHook(e.hook) ? 'socket' : device ? `${device}(${e.ifindex})` : `ifindex ${e.ifindex}`;
  const parts = [tupleText(e.tuple)];
  if (e.frontend) parts.push(`frontend ${e.frontend.address}:${e.frontend.port} (${e.frontend.option})`);
  if (e.outer) parts.push(`geneve ${e.outer.saddr} -> ${e.outer.daddr}`);
  if (!isSocketHook(e.hook)) parts.push(`len ${e.len}`);
  return `${time} CPU ${two(e.cpu)} ${e.type.toUpperCase().padEnd(5)} ${e.reason} ${e.hook} ${dev}: ${parts.join(', ')}`;
}

/** The JSON line of an event (`-o json`): bigints as strings, the time in ISO 8601 plus microseconds. */
export function formatJson(e: MonitorEvent, offsetNs: bigint, device: string | undefined): string {
  const { date, micros } = wallTime(e, offsetNs);
  return JSON.stringify({
    time: date.toISOString(), timeMicros: micros, monotonicNs: e.monotonicNs.toString(), cpu: e.cpu,
    type: e.type, reason: e.reason, hook: e.hook, ifindex: e.ifindex, device: device ?? null, len: e.len, verdict: e.verdict,
    tuple: { ...e.tuple, protocol: protoText(e.tuple.proto) }, outer: e.outer, frontend: e.frontend,
  });
}
