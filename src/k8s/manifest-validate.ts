/**
 * Per-object validation of Services, EndpointSlices and Nodes, for objects
 * written by hand (a manifests directory) or received from a source that may
 * hand over something malformed. Checks what the API server would reject and
 * what the plan relies on (names, ports, IPs, enums), then applies API
 * defaulting. Errors are values: the caller keeps the last good version.
 */
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import { ipFamilyOf, parseCidrSloppy, parseIpSloppy } from '../net/ip.js';
import { DEFAULT_NAMESPACE, defaultEndpointSlice, defaultService } from '../api/defaults.js';

export type ObjectKind = 'Service' | 'EndpointSlice' | 'Node';

export type ValidObject =
  | { readonly kind: 'Service'; readonly key: string; readonly object: V1Service }
  | { readonly kind: 'EndpointSlice'; readonly key: string; readonly object: V1EndpointSlice }
  | { readonly kind: 'Node'; readonly key: string; readonly object: V1Node };

export type ValidationResult =
  /**
   * `warnings`: what the API server would refuse today but does not change
   * forwarding, or what is read the lenient way kube-proxy reads it (the
   * object holds the canonical reading).
   */
  | ({ readonly status: 'valid'; readonly warnings: readonly string[] } & ValidObject)
  /** kind/key are null when the object is too broken to tell. */
  | { readonly status: 'invalid'; readonly kind: string | null; readonly key: string | null; readonly reason: string }
  /** A kind the plan does not use (ConfigMap, Deployment...). */
  | { readonly status: 'ignored'; readonly kind: string; readonly key: string | null; readonly reason: string };

const API_VERSIONS: Readonly<Record<ObjectKind, string>> = { Service: 'v1', EndpointSlice: 'discovery.k8s.io/v1', Node: 'v1' };
const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];
const MAX_PROBLEMS = 3;

type Rec = Record<string, unknown>;
const isRecord = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Collects "path: what is wrong" lines. Where the checks are (the top of the
 * object, or an entry of a list such as endpoints[3]) is kept as its parts
 * and named only when something there is wrong: a source validates every
 * object it receives, 100,000 endpoints in a large cluster, nearly all fine.
 */
class Problems {
  readonly list: string[] = [];
  readonly warnings: string[] = [];
  /** Values read leniently, to be written back canonically: [path, value]. */
  readonly rewrites: [string, string][] = [];
  private entryOf = '';
  private index = -1;

  /** The checks that follow are of `list[index]`, until top(). */
  entry(list: string, index: number): void {
    this.entryOf = list;
    this.index = index;
  }

  /** The checks that follow are of the object's own fields. */
  top(): void {
    this.entryOf = '';
    this.index = -1;
  }

  /** The path of `field` under the current place ("" for the place itself). */
  private at(field: string): string {
    return this.index < 0 ? field : `${this.entryOf}[${this.index}]${field}`;
  }

  add(field: string, message: string): void {
    this.list.push(`${this.at(field)}: ${message}`);
  }

  warn(field: string, message: string): void {
    this.warnings.push(`${this.at(field)}: ${message}`);
  }

  rewrite(field: string, value: string): void {
    this.rewrites.push([this.at(field), value]);
  }

  get ok(): boolean {
    return this.list.length === 0;
  }

  text(): string {
    const shown = this.list.slice(0, MAX_PROBLEMS).join('; ');
    return this.list.length > MAX_PROBLEMS ? `${shown} (and ${this.list.length - MAX_PROBLEMS} more)` : shown;
  }
}

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
}

function optString(p: Problems, field: string, v: unknown): void {
  if (v !== undefined && v !== null && typeof v !== 'string') p.add(field, `${describe(v)} is not a string`);
}

function optBool(p: Problems, field: string, v: unknown): void {
  if (v !== undefined && v !== null && typeof v !== 'boolean') p.add(field, `${describe(v)} is not true/false`);
}

function optEnum(p: Problems, field: string, v: unknown, allowed: readonly string[]): void {
  if (v === undefined || v === null || v === '') return;
  if (typeof v !== 'string' || !allowed.includes(v)) p.add(field, `${describe(v)} is not one of ${allowed.join(', ')}`);
}

// What a missing list or object reads as: shared, never written.
const NO_ITEMS: readonly unknown[] = Object.freeze([]);
const NO_FIELDS: Readonly<Rec> = Object.freeze({});

function optArray(p: Problems, field: string, v: unknown): readonly unknown[] {
  if (v === undefined || v === null) return NO_ITEMS;
  if (!Array.isArray(v)) {
    p.add(field, 'is not a list');
    return NO_ITEMS;
  }
  return v;
}

function optRecord(p: Problems, field: string, v: unknown): Readonly<Rec> {
  if (v === undefined || v === null) return NO_FIELDS;
  if (!isRecord(v)) {
    p.add(field, 'is not an object');
    return NO_FIELDS;
  }
  return v;
}

/**
 * Checks each entry of the list at `field` that is an object, with the
 * place set to it, and names each that is not. Returns the list.
 */
function entries(p: Problems, field: string, v: unknown, check: (entry: Readonly<Rec>) => void): readonly unknown[] {
  const list = optArray(p, field, v);
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    p.entry(field, i);
    if (isRecord(entry)) check(entry);
    else p.add('', 'is not an object');
  }
  p.top();
  return list;
}

function port(p: Problems, field: string, v: unknown, min = 1): void {
  if (!isInt(v) || v < min || v > 65535) p.add(field, `${describe(v)} is not a port number (${min}-65535)`);
}

/** An IP address field; leading zeros are read as kube-proxy reads them, with a warning. */
function ip(p: Problems, field: string, v: unknown): 'IPv4' | 'IPv6' | null {
  const family = typeof v === 'string' ? ipFamilyOf(v) : null;
  if (family) return family;
  const sloppy = typeof v === 'string' ? parseIpSloppy(v) : null;
  if (sloppy) {
    p.warn(field, `'${String(v)}' has leading zeros: read as ${sloppy.address}, as kube-proxy reads it (the API server refuses such values now)`);
    p.rewrite(field, sloppy.address);
    return sloppy.family;
  }
  p.add(field, `${describe(v)} is not an IP address`);
  return null;
}

/** An IP address kube-proxy would skip (and serve the rest): a warning, and the plan skips it too. */
function skippableIp(p: Problems, field: string, v: unknown): void {
  const family = typeof v === 'string' ? ipFamilyOf(v) : null;
  if (family) return;
  const problems = new Problems();
  if (ip(problems, '', v)) {
    p.warn(field, (problems.warnings[0] ?? '').replace(/^: /, ''));
    p.rewrite(field, problems.rewrites[0]?.[1] ?? '');
  } else {
    p.warn(field, `${describe(v)} is not an IP address: ignored, as kube-proxy ignores it`);
  }
}

/** Replaces the values at "a.b[2].c" paths in a copy of `raw`. */
function rewritten<T>(raw: T, rewrites: readonly [string, string][]): T {
  if (rewrites.length === 0) return raw;
  const copy = structuredClone(raw) as unknown;
  for (const [path, value] of rewrites) {
    const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
    let at = copy as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
    const last = keys[keys.length - 1];
    if (last !== undefined) at[last] = value;
  }
  return copy as T;
}

function stringMap(p: Problems, field: string, v: unknown): void {
  const map = optRecord(p, field, v);
  for (const k of Object.keys(map)) {
    const val = map[k];
    if (typeof val !== 'string') p.add(`${field}.${k}`, `${describe(val)} is not a string`);
  }
}

/** metadata: a name, optional namespace, string labels/annotations. Returns the key or null. */
function metadata(p: Problems, obj: Rec, namespaced: boolean): string | null {
  const meta = optRecord(p, 'metadata', obj['metadata']);
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') p.add('metadata.name', 'is missing');
  optString(p, 'metadata.namespace', meta['namespace']);
  stringMap(p, 'metadata.labels', meta['labels']);
  stringMap(p, 'metadata.annotations', meta['annotations']);
  if (typeof name !== 'string' || name === '') return null;
  if (!namespaced) return name;
  const ns = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : DEFAULT_NAMESPACE;
  return `${ns}/${name}`;
}

function invalid(kind: ObjectKind, key: string | null, p: Problems): ValidationResult {
  return { status: 'invalid', kind, key, reason: `${kind}${key ? ` ${key}` : ''}: ${p.text()}` };
}

export function validateService(raw: unknown): ValidationResult {
  const p = new Problems();
  if (!isRecord(raw)) return { status: 'invalid', kind: 'Service', key: null, reason: 'Service: is not an object' };
  const key = metadata(p, raw, true);
  const spec = optRecord(p, 'spec', raw['spec']);
  const type = spec['type'] === undefined || spec['type'] === null || spec['type'] === '' ? 'ClusterIP' : spec['type'];
  optEnum(p, 'spec.type', type, ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']);

  const names = new Set<string>();
  const portProtocols = new Set<string>();
  const many = Array.isArray(spec['ports']) && spec['ports'].length > 1;
  entries(p, 'spec.ports', spec['ports'], (item) => {
    port(p, '.port', item['port']);
    optEnum(p, '.protocol', item['protocol'], PROTOCOLS);
    optString(p, '.name', item['name']);
    const name = typeof item['name'] === 'string' ? item['name'] : '';
    // Endpoints are matched to Service ports by name: names must tell the ports apart.
    if (many && name === '') p.add('.name', 'is required when the Service has more than one port');
    if (name !== '' && names.has(name)) p.add('.name', `duplicate name '${name}'`);
    names.add(name);
    const pp = `${String(item['port'])}/${typeof item['protocol'] === 'string' && item['protocol'] ? item['protocol'] : 'TCP'}`;
    if (portProtocols.has(pp)) p.add('', `duplicate port ${pp}`);
    portProtocols.add(pp);
    if (item['nodePort'] !== undefined && item['nodePort'] !== null) {
      port(p, '.nodePort', item['nodePort'], 0);
      // kube-proxy opens a NodePort for any Service port that has one.
      if (type === 'ClusterIP' && item['nodePort'] !== 0) p.warn('.nodePort', 'the API server refuses a nodePort when type is ClusterIP; served as kube-proxy serves it (a NodePort frontend)');
    }
    // Forwarding uses the EndpointSlice's ports, never targetPort.
    const target = item['targetPort'];
    if (target !== undefined && target !== null && typeof target !== 'string' && !(isInt(target) && target >= 0 && target <= 65535)) {
      p.warn('.targetPort', `${describe(target)} is not a port number or name (not used for forwarding: the EndpointSlice's ports are)`);
    }
  });

  clusterIPs(p, spec);
  const externalIPs = optArray(p, 'spec.externalIPs', spec['externalIPs']);
  for (let i = 0; i < externalIPs.length; i++) {
    p.entry('spec.externalIPs', i);
    skippableIp(p, '', externalIPs[i]);
  }
  p.top();
  const ranges = optArray(p, 'spec.loadBalancerSourceRanges', spec['loadBalancerSourceRanges']);
  for (let i = 0; i < ranges.length; i++) {
    const v = ranges[i];
    const cidr = typeof v === 'string' ? parseCidrSloppy(v.trim()) : null;
    p.entry('spec.loadBalancerSourceRanges', i);
    if (cidr?.sloppy) {
      p.warn('', `'${String(v)}' has leading zeros: read as ${cidr.text}, as kube-proxy reads it (the API server refuses such values now)`);
      p.rewrite('', cidr.text);
    }
    // Not skipped like a bad external IP: without it the Service would be open to more clients than meant.
    if (!cidr) p.add('', `${describe(v)} is not a CIDR (e.g. 203.0.113.0/24)`);
  }
  p.top();
  if (ranges.length > 0 && type !== 'LoadBalancer') p.add('spec.loadBalancerSourceRanges', 'may only be used when type is LoadBalancer');

  optEnum(p, 'spec.sessionAffinity', spec['sessionAffinity'], ['None', 'ClientIP']);
  if (spec['sessionAffinity'] === 'ClientIP') {
    const config = optRecord(p, 'spec.sessionAffinityConfig', spec['sessionAffinityConfig']);
    const clientIP = optRecord(p, 'spec.sessionAffinityConfig.clientIP', config['clientIP']);
    const t = clientIP['timeoutSeconds'];
    if (t !== undefined && t !== null && (!isInt(t) || t < 1 || t > 86400)) {
      p.add('spec.sessionAffinityConfig.clientIP.timeoutSeconds', `${describe(t)} is not a whole number of seconds in 1-86400`);
    }
  }
  optEnum(p, 'spec.externalTrafficPolicy', spec['externalTrafficPolicy'], ['Cluster', 'Local']);
  const externallyAccessible = type === 'NodePort' || type === 'LoadBalancer'
    || (type === 'ClusterIP' && Array.isArray(spec['externalIPs']) && spec['externalIPs'].length > 0);
  if (spec['externalTrafficPolicy'] && !externallyAccessible) {
    p.warn('spec.externalTrafficPolicy', 'the API server allows it only for externally-accessible Services (NodePort, LoadBalancer, or externalIPs); ignored, as by kube-proxy');
  }
  optEnum(p, 'spec.internalTrafficPolicy', spec['internalTrafficPolicy'], ['Cluster', 'Local']);
  if (spec['healthCheckNodePort'] !== undefined && spec['healthCheckNodePort'] !== null) {
    port(p, 'spec.healthCheckNodePort', spec['healthCheckNodePort'], 0);
    if (spec['healthCheckNodePort'] !== 0 && !(type === 'LoadBalancer' && spec['externalTrafficPolicy'] === 'Local')) {
      // kube-proxy serves a health check only for a Service that needs one, and ignores the field otherwise.
      p.warn('spec.healthCheckNodePort', 'the API server allows it only when type is LoadBalancer and externalTrafficPolicy is Local; ignored (no health check is served), as by kube-proxy');
    }
  }
  optString(p, 'spec.trafficDistribution', spec['trafficDistribution']);
  optBool(p, 'spec.allocateLoadBalancerNodePorts', spec['allocateLoadBalancerNodePorts']);

  const status = optRecord(p, 'status', raw['status']);
  const lb = optRecord(p, 'status.loadBalancer', status['loadBalancer']);
  entries(p, 'status.loadBalancer.ingress', lb['ingress'], (ing) => {
    if (ing['ip'] !== undefined && ing['ip'] !== null && ing['ip'] !== '') skippableIp(p, '.ip', ing['ip']);
    optString(p, '.hostname', ing['hostname']);
    optEnum(p, '.ipMode', ing['ipMode'], ['VIP', 'Proxy']);
  });

  if (!p.ok) return invalid('Service', key, p);
  return { status: 'valid', kind: 'Service', key: key ?? '', object: defaultService(rewritten(raw as V1Service, p.rewrites)), warnings: p.warnings };
}

/** clusterIP / clusterIPs / ipFamilies / ipFamilyPolicy agree with each other. */
function clusterIPs(p: Problems, spec: Readonly<Rec>): void {
  const single = spec['clusterIP'];
  optString(p, 'spec.clusterIP', single);
  if (typeof single === 'string' && single !== '' && single !== 'None') ip(p, 'spec.clusterIP', single);
  const list = optArray(p, 'spec.clusterIPs', spec['clusterIPs']);
  const families: (string | null)[] = [];
  for (let i = 0; i < list.length; i++) {
    p.entry('spec.clusterIPs', i);
    families.push(list[i] === 'None' && list.length === 1 ? 'None' : ip(p, '', list[i]));
  }
  p.top();
  if (list.length > 2) p.add('spec.clusterIPs', 'holds at most one address per family (2)');
  if (list.length === 2 && families[0] !== null && families[0] === families[1]) p.add('spec.clusterIPs', 'the two addresses must be of different families');
  if (typeof single === 'string' && single !== '' && list.length > 0 && list[0] !== single) {
    p.add('spec.clusterIPs[0]', `must equal spec.clusterIP ('${single}')`);
  }
  const ipFamilies = optArray(p, 'spec.ipFamilies', spec['ipFamilies']);
  for (let i = 0; i < ipFamilies.length; i++) {
    const f = ipFamilies[i];
    p.entry('spec.ipFamilies', i);
    optEnum(p, '', f, ['IPv4', 'IPv6']);
    const ipFamily = families[i];
    if (ipFamily && ipFamily !== 'None' && f !== ipFamily) p.add('', `${describe(f)} does not match spec.clusterIPs[${i}] (${ipFamily})`);
  }
  p.top();
  if (ipFamilies.length === 2 && ipFamilies[0] === ipFamilies[1]) p.add('spec.ipFamilies', 'lists the same family twice');
  optEnum(p, 'spec.ipFamilyPolicy', spec['ipFamilyPolicy'], ['SingleStack', 'PreferDualStack', 'RequireDualStack']);
}

/** One entry of an EndpointSlice's endpoints (the place is set: endpoints[i]). No closure in here: it runs per endpoint. */
function endpoint(p: Problems, ep: Readonly<Rec>, addressType: unknown): void {
  const addresses = optArray(p, '.addresses', ep['addresses']);
  if (addresses.length < 1 || addresses.length > 100) p.add('.addresses', 'must hold 1 to 100 addresses');
  for (let j = 0; j < addresses.length; j++) {
    const a = addresses[j];
    if (addressType !== 'IPv4' && addressType !== 'IPv6') {
      if (a !== undefined && a !== null && typeof a !== 'string') optString(p, `.addresses[${j}]`, a);
      continue;
    }
    const family = (typeof a === 'string' ? ipFamilyOf(a) : null) ?? ip(p, `.addresses[${j}]`, a);
    if (family && family !== addressType) p.add(`.addresses[${j}]`, `'${String(a)}' is not an ${addressType} address (addressType)`);
  }
  const conditions = optRecord(p, '.conditions', ep['conditions']);
  optBool(p, '.conditions.ready', conditions['ready']);
  optBool(p, '.conditions.serving', conditions['serving']);
  optBool(p, '.conditions.terminating', conditions['terminating']);
  optString(p, '.nodeName', ep['nodeName']);
  optString(p, '.zone', ep['zone']);
  const hints = optRecord(p, '.hints', ep['hints']);
  hintNames(p, '.hints.forZones', hints['forZones']);
  hintNames(p, '.hints.forNodes', hints['forNodes']);
}

function hintNames(p: Problems, field: string, v: unknown): void {
  const list = optArray(p, field, v);
  for (let j = 0; j < list.length; j++) {
    const h = list[j];
    if (!isRecord(h) || typeof h['name'] !== 'string' || h['name'] === '') p.add(`${field}[${j}].name`, 'is missing');
  }
}

export function validateEndpointSlice(raw: unknown): ValidationResult {
  const p = new Problems();
  if (!isRecord(raw)) return { status: 'invalid', kind: 'EndpointSlice', key: null, reason: 'EndpointSlice: is not an object' };
  const key = metadata(p, raw, true);
  const addressType = raw['addressType'];
  if (addressType === undefined || addressType === null || addressType === '') p.add('addressType', 'is missing (IPv4, IPv6 or FQDN)');
  else optEnum(p, 'addressType', addressType, ['IPv4', 'IPv6', 'FQDN']);

  entries(p, 'endpoints', raw['endpoints'], (ep) => endpoint(p, ep, addressType));

  const names = new Set<string>();
  entries(p, 'ports', raw['ports'], (item) => {
    if (item['port'] !== undefined && item['port'] !== null) port(p, '.port', item['port']);
    optEnum(p, '.protocol', item['protocol'], PROTOCOLS);
    optString(p, '.name', item['name']);
    const name = typeof item['name'] === 'string' ? item['name'] : '';
    if (names.has(name)) p.add('.name', `duplicate name '${name}'`);
    names.add(name);
  });

  if (!p.ok) return invalid('EndpointSlice', key, p);
  return { status: 'valid', kind: 'EndpointSlice', key: key ?? '', object: defaultEndpointSlice(rewritten(raw as unknown as V1EndpointSlice, p.rewrites)), warnings: p.warnings };
}

export function validateNode(raw: unknown): ValidationResult {
  const p = new Problems();
  if (!isRecord(raw)) return { status: 'invalid', kind: 'Node', key: null, reason: 'Node: is not an object' };
  const key = metadata(p, raw, false);
  const status = optRecord(p, 'status', raw['status']);
  const addresses = optArray(p, 'status.addresses', status['addresses']);
  for (let i = 0; i < addresses.length; i++) {
    const a = addresses[i];
    p.entry('status.addresses', i);
    if (!isRecord(a) || typeof a['type'] !== 'string' || typeof a['address'] !== 'string') p.add('', 'needs a type and an address');
    else if (a['type'] === 'InternalIP' || a['type'] === 'ExternalIP') ip(p, '.address', a['address']);
  }
  p.top();
  if (!p.ok) return invalid('Node', key, p);
  return { status: 'valid', kind: 'Node', key: key ?? '', object: rewritten(raw as V1Node, p.rewrites), warnings: p.warnings };
}

const VALIDATORS: Readonly<Record<ObjectKind, (raw: unknown) => ValidationResult>> = {
  Service: validateService, EndpointSlice: validateEndpointSlice, Node: validateNode,
};

/** Dispatches on `kind` (and checks `apiVersion` when given). */
export function validateObject(raw: unknown): ValidationResult {
  if (!isRecord(raw)) return { status: 'invalid', kind: null, key: null, reason: `${describe(raw)} is not a Kubernetes object` };
  const kind = raw['kind'];
  if (typeof kind !== 'string' || kind === '') return { status: 'invalid', kind: null, key: null, reason: 'kind is missing' };
  if (!(kind in VALIDATORS)) {
    const meta = isRecord(raw['metadata']) ? raw['metadata'] : {};
    const name = typeof meta['name'] === 'string' ? meta['name'] : null;
    const key = name !== null && typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? `${meta['namespace']}/${name}` : name;
    return { status: 'ignored', kind, key, reason: `${kind}${key ? ` ${key}` : ''}: not used by dsrlb (only Service, EndpointSlice, Node)` };
  }
  const k = kind as ObjectKind;
  const apiVersion = raw['apiVersion'];
  if (apiVersion !== undefined && apiVersion !== API_VERSIONS[k]) {
    const key = metadata(new Problems(), raw, k !== 'Node');
    return { status: 'invalid', kind: k, key, reason: `${k}${key ? ` ${key}` : ''}: apiVersion ${describe(apiVersion)} is not supported (use ${API_VERSIONS[k]})` };
  }
  return VALIDATORS[k](raw);
}
