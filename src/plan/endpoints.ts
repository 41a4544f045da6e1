/**
 * EndpointSlices -> endpoints per slice port, as kube-proxy's EndpointSliceCache
 * builds its EndpointsMap (pkg/proxy/endpointslicecache.go). Expects defaulted
 * slices (src/api/defaults.ts).
 */
import type { V1EndpointSlice } from '../api/types.js';
import { parseIp } from '../net/ip.js';
import { LABEL_HEADLESS, LABEL_SERVICE_PROXY_NAME } from './services.js';
import type { IPFamily } from './types.js';

export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';

export interface EndpointInfo {
  readonly address: string;
  readonly port: number;
  readonly nodeName: string | null;
  /** On this node (endpoint.nodeName equals it). */
  readonly isLocal: boolean;
  /** conditions.ready; nil means ready. */
  readonly ready: boolean;
  /** conditions.serving; nil means serving. */
  readonly serving: boolean;
  /** conditions.terminating; nil means not terminating. */
  readonly terminating: boolean;
  /** hints.forZones names; null when the endpoint has none. */
  readonly zoneHints: ReadonlySet<string> | null;
  /** hints.forNodes names; null when the endpoint has none (or node hints are off). */
  readonly nodeHints: ReadonlySet<string> | null;
  /** Sorts endpoints by address when compared as strings (ties: by port). */
  readonly sortKey: string;
}

/** "name/protocol" of a slice port, the key Service ports are matched with. */
export function portKey(name: string, protocol: string): string {
  return `${name}/${protocol}`;
}

/** The "namespace/service" a slice belongs to, or null when kube-proxy would not use it at all. */
export function sliceServiceKey(slice: V1EndpointSlice): string | null {
  const labels = slice.metadata?.labels ?? {};
  // Same label selector as kube-proxy's informers: these slices never reach it.
  if (LABEL_SERVICE_PROXY_NAME in labels || LABEL_HEADLESS in labels) return null;
  const service = labels[LABEL_SERVICE_NAME];
  if (!service || !slice.metadata?.name) return null;
  return `${slice.metadata.namespace ?? 'default'}/${service}`;
}

/** Only IPv4 and IPv6 slices exist for a proxier of that family; FQDN slices are never used. */
export function sliceFamily(slice: V1EndpointSlice): IPFamily | null {
  return slice.addressType === 'IPv4' || slice.addressType === 'IPv6' ? slice.addressType : null;
}

export interface EndpointsOptions {
  readonly nodeName: string;
  readonly family: IPFamily;
  readonly nodeHints: boolean;
}

/**
 * All endpoints of one Service's slices in one family, by slice port key.
 * Pass the slices sorted by name so that ties resolve the same way every time.
 */
export function endpointsByPort(slices: readonly V1EndpointSlice[], opts: EndpointsOptions): Map<string, EndpointInfo[]> {
  // port key -> port number -> address -> endpoint
  const byPort = new Map<string, Map<number, Map<string, EndpointInfo>>>();
  for (const slice of slices) {
    if (sliceFamily(slice) !== opts.family) continue;
    const endpoints = parseEndpoints(slice, opts);
    for (const port of slice.ports ?? []) {
      // A port without a name (before defaulting) or without a number is unusable.
      if (port.name === undefined || port.name === null || !port.port) continue;
      const key = portKey(port.name, port.protocol ?? 'TCP');
      let numbers = byPort.get(key);
      if (!numbers) byPort.set(key, (numbers = new Map()));
      let set = numbers.get(port.port);
      if (!set) numbers.set(port.port, (set = new Map()));
      for (const ep of endpoints) {
        const info: EndpointInfo = {
          address: ep.address, port: port.port, nodeName: ep.nodeName, isLocal: ep.isLocal, ready: ep.ready, serving: ep.serving,
          terminating: ep.terminating, zoneHints: ep.zoneHints, nodeHints: ep.nodeHints, sortKey: ep.sortKey,
        };
        // The same address:port in two slices (an endpoint moving between slices, or a
        // reused pod IP): prefer the one that is not terminating.
        if (!set.has(info.address) || !info.terminating) set.set(info.address, info);
      }
    }
  }
  const out = new Map<string, EndpointInfo[]>();
  for (const [key, numbers] of byPort) {
    const list: EndpointInfo[] = [];
    for (const set of numbers.values()) for (const info of set.values()) list.push(info);
    out.set(key, list.sort(byAddressThenPort));
  }
  return out;
}

function byAddressThenPort(a: EndpointInfo, b: EndpointInfo): number {
  return a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : a.port - b.port;
}

type PortlessEndpoint = Omit<EndpointInfo, 'port'>;

/** Names of hints, or null when there are none (most endpoints: no allocation then). */
function hintNames(hints: readonly { name: string }[] | undefined): ReadonlySet<string> | null {
  if (!hints || hints.length === 0) return null;
  return new Set(hints.map((h) => h.name));
}

function parseEndpoints(slice: V1EndpointSlice, opts: EndpointsOptions): PortlessEndpoint[] {
  const out: PortlessEndpoint[] = [];
  for (const ep of slice.endpoints ?? []) {
    // kube-proxy uses the first address only.
    const first = ep.addresses?.[0];
    const ip = first === undefined ? null : parseIp(first);
    if (!ip || ip.family !== opts.family) continue;
    const nodeName = ep.nodeName ?? null;
    out.push({
      address: ip.address,
      nodeName,
      isLocal: opts.nodeName !== '' && nodeName === opts.nodeName,
      ready: ep.conditions?.ready ?? true,
      serving: ep.conditions?.serving ?? true,
      terminating: ep.conditions?.terminating ?? false,
      zoneHints: hintNames(ep.hints?.forZones),
      nodeHints: opts.nodeHints ? hintNames(ep.hints?.forNodes) : null,
      sortKey: ip.sortKey,
    });
  }
  return out;
}
