/**
 * dsrlb-agent configuration (docs/design.md §4): every flag can also come from the
 * environment; all of it is validated before anything touches the kernel.
 */
import {
  DSRLB_GENEVE_PORT, DSRLB_MAGLEV_DEFAULT_SIZE, DSRLB_MAGLEV_BASE_SIZE, DSRLB_MAX_DSR_REVNAT, DSRLB_MAX_DSR_REVNAT_NEW, DSRLB_MAX_FLOWS_NEW,
  DSRLB_MAX_FLOW_TABLE, DSRLB_MAX_FLOWS, DSRLB_MIN_FLOW_TABLE, DSRLB_REPLY_BURST_DEFAULT, DSRLB_REPLY_BURST_MAX,
  DSRLB_REPLY_RATE_DEFAULT, DSRLB_REPLY_RATE_MAX,
} from '../bpf/consts.generated.js';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { DEFAULT_OBJECT_DIR } from '../bpf/objects.js';
import { ipv4Value } from '../net/ip.js';
import { MAGLEV_MAX_SIZE } from '../reconcile/maglev.js';
import { DsrlbError } from '../errors.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../k8s/manifest-limits.js';

export type Mode = 'dsr' | 'snat' | 'hybrid';
export type XdpModeFlag = 'native' | 'generic';
export type LogFormat = 'text' | 'json';

/**
 * Default addresses. Metrics and /healthz stay on loopback unless asked (as
 * kube-proxy's metrics do), on ports that none of Cilium (9962-9965, 9879,
 * 9890-9893), Hubble (4244/4245), Calico (9091/9099), node-exporter (9100),
 * the kubelet (10248/10250/10255) or kube-proxy (10249/10256) uses.
 */
export const DEFAULT_METRICS_ADDR = '127.0.0.1:9476';
export const DEFAULT_HEALTH_ADDR = '127.0.0.1:9477';

export interface HostPort { readonly host: string; readonly port: number }

/**
 * Sizes of the connection tables (max_entries, fixed when a map is created):
 * --revnat-max (lb4_dsr_revnat, established), --revnat-unconfirmed-max
 * (lb4_dsr_revnat_new), --flows-max (lb4_flows), --flows-unconfirmed-max
 * (lb4_flows_new, and lb4_snat_new at two entries a flow). A size other than the
 * pinned maps' makes another map layout: the agent creates the maps anew and
 * carries the entries over (docs/agent.md "Upgrades across map layouts").
 */
export interface TableSizes {
  readonly revnat: number; readonly revnatUnconfirmed: number; readonly flows: number; readonly flowsUnconfirmed: number;
}

export const DEFAULT_TABLE_SIZES: TableSizes = {
  revnat: DSRLB_MAX_DSR_REVNAT, revnatUnconfirmed: DSRLB_MAX_DSR_REVNAT_NEW, flows: DSRLB_MAX_FLOWS,
  flowsUnconfirmed: DSRLB_MAX_FLOWS_NEW,
};

/** The maps' max_entries overrides (map name -> entries) for a build's objects. */
export function tableMaxEntries(s: TableSizes): Readonly<Record<string, number>> {
  return {
    lb4_dsr_revnat: s.revnat, lb4_dsr_revnat_new: s.revnatUnconfirmed, lb4_flows: s.flows,
    lb4_flows_new: s.flowsUnconfirmed, lb4_snat_new: 2 * s.flowsUnconfirmed,
  };
}

export interface AgentConfig {
  readonly source: { readonly kind: 'kubernetes'; readonly kubeconfig?: string; readonly apiServer?: string }
    | { readonly kind: 'manifests'; readonly dir: string; readonly limits: ManifestLimits };
  readonly nodeName: string;
  readonly devices: readonly string[];
  readonly mode: Mode;
  readonly xdpMode: XdpModeFlag;
  /** --xdp-replace-foreign: attach over an XDP program dsrlb did not attach (else refuse). */
  readonly xdpReplaceForeign: boolean;
  /** UDP port of dsrlb's Geneve (both directions; every node must agree). */
  readonly genevePort: number;
  /** Generated replies (RST, ICMP) a second and their burst, per CPU; rate 0 = none. */
  readonly generatedReplies: { readonly rate: number; readonly burst: number };
  readonly maglevTableSize: number;
  readonly bpffsRoot: string;
  /** Directory holding the build's xdp_lb.o and tc_revnat.o (packaging, and a test's other build). */
  readonly bpfObjectDir: string;
  /** Inter-node MTU; undefined = the first device's MTU. */
  readonly mtu?: number;
  /** This node's address (Geneve outer source, SNAT address); undefined = the first device's IPv4. */
  readonly nodeAddress?: string;
  readonly metricsAddr: HostPort;
  readonly healthAddr: HostPort;
  /** kube-proxy's node health endpoint (/healthz, /livez); undefined = off. */
  readonly healthzBindAddress?: HostPort;
  readonly logLevel: string;
  /** --log-format: text for people, JSON lines for collectors. */
  readonly logFormat: LogFormat;
  /** --sync-period: how often the maps are read back and repaired to the plan (ms). */
  readonly syncPeriodMs: number;
  /** Socket LB (cgroup hooks) on --cgroup-root; off: detached if a previous run attached it. */
  readonly socketLb: boolean;
  /** undefined = the cgroup2 mount found in /proc/mounts when the agent starts. */
  readonly cgroupRoot?: string;
  /** Translate only for sockets in the agent's (the host's) network namespace. */
  readonly socketLbHostNamespaceOnly: boolean;
  readonly tableSizes: TableSizes;
  /**
   * --revnat-fallback unique-frontend: a local backend's reply without a
   * reverse-NAT entry leaves from the backend's frontend when it has only
   * one; off (default): it is only counted.
   */
  readonly revnatFallback: boolean;
}

/** Raw values as commander hands them over (strings, or undefined when not given). */
export interface RawAgentOptions {
  kubeconfig?: string; apiServer?: string; manifests?: string; nodeName?: string; devices?: string;
  mode?: string; xdpMode?: string; maglevTableSize?: string; bpffsRoot?: string; bpfObjectDir?: string; mtu?: string;
  nodeAddress?: string; metricsAddr?: string; healthAddr?: string; logLevel?: string; logFormat?: string; syncPeriod?: string;
  manifestsMaxFileBytes?: string; manifestsMaxObjects?: string;
  genevePort?: string; generatedRepliesRate?: string; generatedRepliesBurst?: string;
  /** A switch: true when given, or a string from the environment. */
  xdpReplaceForeign?: string | boolean;
  healthzBindAddress?: string;
  /** Boolean flags: true when given without a value. */
  socketLb?: string | boolean; cgroupRoot?: string; socketLbHostNamespaceOnly?: string | boolean;
  revnatMax?: string; revnatUnconfirmedMax?: string; flowsMax?: string; flowsUnconfirmedMax?: string; revnatFallback?: string;
}

/** Flag name -> environment variable that may supply it. */
export const ENV_VARS: Readonly<Record<keyof RawAgentOptions, string>> = {
  kubeconfig: 'KUBECONFIG', apiServer: 'DSRLB_API_SERVER', manifests: 'DSRLB_MANIFESTS', nodeName: 'NODE_NAME',
  devices: 'DSRLB_DEVICES', mode: 'DSRLB_MODE', xdpMode: 'DSRLB_XDP_MODE', maglevTableSize: 'DSRLB_MAGLEV_TABLE_SIZE',
  bpffsRoot: 'DSRLB_BPFFS_ROOT', bpfObjectDir: 'DSRLB_BPF_OBJECT_DIR', mtu: 'DSRLB_MTU', nodeAddress: 'DSRLB_NODE_ADDRESS', metricsAddr: 'DSRLB_METRICS_ADDR',
  healthAddr: 'DSRLB_HEALTH_ADDR', logLevel: 'DSRLB_LOG_LEVEL', logFormat: 'DSRLB_LOG_FORMAT', syncPeriod: 'DSRLB_SYNC_PERIOD',
  manifestsMaxFileBytes: 'DSRLB_MANIFESTS_MAX_FILE_BYTES', manifestsMaxObjects: 'DSRLB_MANIFESTS_MAX_OBJECTS',
  genevePort: 'DSRLB_GENEVE_PORT', generatedRepliesRate: 'DSRLB_GENERATED_REPLIES_RATE',
  generatedRepliesBurst: 'DSRLB_GENERATED_REPLIES_BURST', xdpReplaceForeign: 'DSRLB_XDP_REPLACE_FOREIGN',
  healthzBindAddress: 'DSRLB_HEALTHZ_BIND_ADDRESS',
  socketLb: 'DSRLB_SOCKET_LB', cgroupRoot: 'DSRLB_CGROUP_ROOT', socketLbHostNamespaceOnly: 'DSRLB_SOCKET_LB_HOST_NAMESPACE_ONLY',
  revnatMax: 'DSRLB_REVNAT_MAX', revnatUnconfirmedMax: 'DSRLB_REVNAT_UNCONFIRMED_MAX', flowsMax: 'DSRLB_FLOWS_MAX',
  flowsUnconfirmedMax: 'DSRLB_FLOWS_UNCONFIRMED_MAX',
  revnatFallback: 'DSRLB_REVNAT_FALLBACK',
};

const MIN_MTU = 576;
/** kube-proxy's --sync-period default. */
export const DEFAULT_SYNC_PERIOD_MS = 60 * 60 * 1000;
const MIN_SYNC_PERIOD_MS = 1000;
const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const MAX_MTU = 65535;

function usage(flag: string, message: string, remedy: string): DsrlbError {
  return new DsrlbError('ERR_USAGE', message, { subject: `--${flag}`, remedy });
}

export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw usage(flag, `'${value}' is not host:port`, `e.g. ${DEFAULT_METRICS_ADDR}`);
  return { host: m[1] ?? m[2] ?? '', port };
}

function parseInteger(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw usage(flag, `'${value}' is not a whole number in [${min}, ${max}]`, `pass --${flag} N`);
  return n;
}

/** A Go-style duration: "30s", "1h", "1m30s", "500ms". */
export function parseDuration(flag: string, value: string): number {
  const parts = /^(?:\d+(?:ms|s|m|h))+$/.test(value) ? [...value.matchAll(/(\d+)(ms|s|m|h)/g)] : [];
  if (parts.length === 0) throw usage(flag, `'${value}' is not a duration`, 'e.g. 30s, 15m, 1h (units ms, s, m, h)');
  return parts.reduce((ms, [, n, unit]) => ms + Number(n) * (DURATION_UNITS[unit as string] as number), 0);
}

function parseSwitch(flag: string, value: string | boolean | undefined, fallback = false): boolean {
  if (value === undefined || typeof value === 'boolean') return value ?? fallback;
  if (/^(1|true|yes)$/i.test(value)) return true;
  if (/^(0|false|no)$/i.test(value)) return false;
  throw usage(flag, `'${value}' is not a switch value`, 'use true or false');
}


function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usage(flag, `unknown value '${value}'`, `use one of: ${allowed.join(', ')}`);
}

/** Flags win over the environment; the environment wins over defaults. */
export function mergeEnv(flags: RawAgentOptions, env: NodeJS.ProcessEnv): RawAgentOptions {
  const out: RawAgentOptions = { ...flags };
  for (const [key, envName] of Object.entries(ENV_VARS) as [keyof RawAgentOptions, string][]) {
    // KUBECONFIG comes last (flag, in-cluster, then KUBECONFIG: docs/design.md §4): loadKubeConfig reads it itself.
    if (key === 'kubeconfig') continue;
    if (out[key] === undefined && env[envName] !== undefined && env[envName] !== '') out[key] = env[envName];
  }
  return out;
}

export function parseAgentConfig(raw: RawAgentOptions): AgentConfig {
  if (!raw.nodeName) throw usage('node-name', 'the node name is required', 'pass --node-name or set NODE_NAME (the Downward API spec.nodeName)');
  if (!raw.devices) throw usage('devices', 'no devices given', 'pass --devices eth0[,eth1] (the NICs that carry service traffic)');
  const devices = raw.devices.split(',').map((d) => d.trim()).filter(Boolean);
  for (const d of devices) if (!/^[\w.@-]{1,15}$/.test(d)) throw usage('devices', `'${d}' is not a device name`, 'check `ip link`');

  const limits: ManifestLimits = {
    maxFileBytes: raw.manifestsMaxFileBytes === undefined ? DEFAULT_MANIFEST_LIMITS.maxFileBytes
      : parseInteger('manifests-max-file-bytes', raw.manifestsMaxFileBytes, 1024, 2 ** 31),
    maxObjects: raw.manifestsMaxObjects === undefined ? DEFAULT_MANIFEST_LIMITS.maxObjects
      : parseInteger('manifests-max-objects', raw.manifestsMaxObjects, 1, 10_000_000),
  };
  const source: AgentConfig['source'] = raw.manifests
    ? { kind: 'manifests', dir: raw.manifests, limits }
    : { kind: 'kubernetes', ...(raw.kubeconfig ? { kubeconfig: raw.kubeconfig } : {}), ...(raw.apiServer ? { apiServer: raw.apiServer } : {}) };
  if (raw.apiServer && !/^https?:\/\/[^/]+/.test(raw.apiServer)) {
    throw usage('api-server', `'${raw.apiServer}' is not a URL`, 'e.g. https://10.0.0.1:6443');
  }

  const maglevTableSize = raw.maglevTableSize === undefined ? DSRLB_MAGLEV_DEFAULT_SIZE
    : parseInteger('maglev-table-size', raw.maglevTableSize, DSRLB_MAGLEV_BASE_SIZE, MAGLEV_MAX_SIZE);

  if (raw.nodeAddress !== undefined && ipv4Value(raw.nodeAddress) < 0) {
    throw usage('node-address', `'${raw.nodeAddress}' is not an IPv4 address`, 'pass the node address the other nodes reach');
  }

  return {
    source,
    nodeName: raw.nodeName,
    devices,
    mode: oneOf('mode', raw.mode ?? 'dsr', ['dsr', 'snat', 'hybrid'] as const),
    xdpMode: oneOf('xdp-mode', raw.xdpMode ?? 'native', ['native', 'generic'] as const),
    maglevTableSize,
    xdpReplaceForeign: parseSwitch('xdp-replace-foreign', raw.xdpReplaceForeign),
    genevePort: raw.genevePort === undefined ? DSRLB_GENEVE_PORT : parseInteger('geneve-port', raw.genevePort, 1, 65535),
    generatedReplies: {
      rate: raw.generatedRepliesRate === undefined ? DSRLB_REPLY_RATE_DEFAULT
        : parseInteger('generated-replies-rate', raw.generatedRepliesRate, 0, DSRLB_REPLY_RATE_MAX),
      burst: raw.generatedRepliesBurst === undefined ? DSRLB_REPLY_BURST_DEFAULT
        : parseInteger('generated-replies-burst', raw.generatedRepliesBurst, 1, DSRLB_REPLY_BURST_MAX),
    },
    bpffsRoot: raw.bpffsRoot ?? DEFAULT_BPFFS_ROOT,
    bpfObjectDir: raw.bpfObjectDir ?? DEFAULT_OBJECT_DIR,
    ...(raw.mtu !== undefined ? { mtu: parseInteger('mtu', raw.mtu, MIN_MTU, MAX_MTU) } : {}),
    ...(raw.nodeAddress !== undefined ? { nodeAddress: raw.nodeAddress } : {}),
    metricsAddr: parseHostPort('metrics-addr', raw.metricsAddr ?? DEFAULT_METRICS_ADDR),
    healthAddr: parseHostPort('health-addr', raw.healthAddr ?? DEFAULT_HEALTH_ADDR),
    // kube-proxy's default; an empty value turns it off, as kube-proxy's does.
    ...(raw.healthzBindAddress === '' ? {} : { healthzBindAddress: parseHostPort('healthz-bind-address', raw.healthzBindAddress ?? '0.0.0.0:10256') }),
    logLevel: oneOf('log-level', raw.logLevel ?? 'info', ['trace', 'debug', 'info', 'warn', 'error'] as const),
    logFormat: oneOf('log-format', raw.logFormat ?? 'text', ['text', 'json'] as const),
    syncPeriodMs: syncPeriod(raw.syncPeriod),
    socketLb: parseSwitch('socket-lb', raw.socketLb, true),
    ...(raw.cgroupRoot !== undefined ? { cgroupRoot: raw.cgroupRoot } : {}),
    socketLbHostNamespaceOnly: parseSwitch('socket-lb-host-namespace-only', raw.socketLbHostNamespaceOnly),
    tableSizes: {
      revnat: tableSize('revnat-max', raw.revnatMax, DEFAULT_TABLE_SIZES.revnat),
      revnatUnconfirmed: tableSize('revnat-unconfirmed-max', raw.revnatUnconfirmedMax, DEFAULT_TABLE_SIZES.revnatUnconfirmed),
      flows: tableSize('flows-max', raw.flowsMax, DEFAULT_TABLE_SIZES.flows),
      flowsUnconfirmed: tableSize('flows-unconfirmed-max', raw.flowsUnconfirmedMax, DEFAULT_TABLE_SIZES.flowsUnconfirmed),
    },
    revnatFallback: oneOf('revnat-fallback', raw.revnatFallback ?? 'off', ['off', 'unique-frontend'] as const) === 'unique-frontend',
  };
}

function tableSize(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined ? fallback : parseInteger(flag, value, DSRLB_MIN_FLOW_TABLE, DSRLB_MAX_FLOW_TABLE);
}

function syncPeriod(value: string | undefined): number {
  if (value === undefined) return DEFAULT_SYNC_PERIOD_MS;
  const ms = parseDuration('sync-period', value);
  if (ms < MIN_SYNC_PERIOD_MS) throw usage('sync-period', `${value} is shorter than 1s`, 'pass --sync-period 1s or longer (default 1h)');
  return ms;
}
