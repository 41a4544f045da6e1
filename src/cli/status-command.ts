/**
 * `lbctl status`: is dsrlb serving here? Programs attached in this network
 * namespace, the socket LB's cgroup, the node's datapath config, map fill and memory, and the agent's
 * /healthz when it can be reached.
 */
import type { Command } from 'commander';
import { dsrlb_mode } from '../bpf/consts.generated.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MapSpecs, mapFill, withPinned, type MapSpec } from '../bpf/map-specs.js';
import { currentLayoutDir } from '../bpf/layout-read.js';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { dsrlbAttachments, type DeviceAttachment } from '../agent/attachments.js';
import { socketLbStatus, type SocketLbStatus } from '../agent/socket-lb.js';
import { DEFAULT_HEALTH_ADDR } from '../agent/config.js';
import type { SourceReport } from '../agent/source-state.js';
import { parseFormat, printJson, printTable } from './output.js';

interface MapStatus { name: string; entries: number; maxEntries: number; memoryBytes: number }

export interface Status {
  bpffsRoot: string;
  /** The layout directory read: the one the attached programs use (else the newest), or the root when nothing is pinned. */
  mapsDir: string;
  attachments: DeviceAttachment[];
  socketLb: SocketLbStatus;
  config: { nodeAddress: string; mode: string; mtu: number } | null;
  maps: MapStatus[];
  /** Maps expected under the root that are not pinned there (removed by hand, or no agent ever ran). */
  missingMaps: string[];
  totalMapMemoryBytes: number;
  agent: AgentStatus;
}

/** The agent's /healthz, as `lbctl status` reports it; every field but the first three is null when the agent is not reachable. */
export interface AgentStatus {
  healthAddr: string;
  healthy: boolean | null;
  /** The cause when unhealthy, else when the maps were last synced; or why the agent could not be reached. */
  detail: string;
  /** Services the agent left out of the maps for want of room. */
  rejectedServices: number | null;
  version: string | null;
  source: SourceReport | null;
  programmed: { services: number; frontends: number } | null;
  lastSyncedAt: string | null;
}

interface HealthzBody {
  lastSyncedAt?: string | null; lastError?: string | null; capacity?: { rejectedServices?: number };
  version?: string; source?: SourceReport | null; programmed?: { services: number; frontends: number };
}

const MODE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(dsrlb_mode).map(([k, v]) => [v, k.replace('DSRLB_MODE_', '').toLowerCase()]));

function mapStatus<K, V>(root: string, spec: MapSpec<K, V>): MapStatus {
  const { entries, info } = mapFill(root, spec);
  return { name: spec.name, entries, maxEntries: info.maxEntries, memoryBytes: info.memoryBytes };
}

async function agentHealth(addr: string): Promise<AgentStatus> {
  try {
    const res = await fetch(`http://${addr}/healthz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as HealthzBody;
    return {
      healthAddr: addr, healthy: res.status === 200, detail: body.lastError ?? `last sync ${body.lastSyncedAt ?? 'never'}`,
      rejectedServices: body.capacity?.rejectedServices ?? 0, version: body.version ?? null, source: body.source ?? null,
      programmed: body.programmed ?? null, lastSyncedAt: body.lastSyncedAt ?? null,
    };
  } catch (e) {
    return {
      healthAddr: addr, healthy: null, detail: `not reachable (${e instanceof Error ? e.message : String(e)})`, rejectedServices: null,
      version: null, source: null, programmed: null, lastSyncedAt: null,
    };
  }
}

/** The source in one line: where it reads from, its state, and since when or its last error. */
export function sourceLine(s: SourceReport): string {
  const read = s.lastCompleteReadAt ? `last complete ${s.kind === 'kubernetes' ? 'list' : 'read'} ${s.lastCompleteReadAt}` : 'never read completely';
  if (s.state === 'retrying') {
    return `${s.description}: retrying since ${s.retryingSince ?? '?'} (${s.failing.join(', ')} failing): ${s.lastError ?? 'no error recorded'}; ${read}`;
  }
  return `${s.description}: ${s.state}; ${read}`;
}

export async function readStatus(bpffsRoot: string, healthAddr: string): Promise<Status> {
  const root = currentLayoutDir(bpffsRoot);
  const specs = [MapSpecs.services, MapSpecs.backends, MapSpecs.localBackends, MapSpecs.revnat, MapSpecs.maglev, MapSpecs.flows, MapSpecs.flowsNew,
    MapSpecs.dsrRevnat, MapSpecs.dsrRevnatNew, MapSpecs.backendFrontends, MapSpecs.snat, MapSpecs.snatNew, MapSpecs.affinity, MapSpecs.sockRevnat, MapSpecs.nodes];
  const pinned = specs.filter((s) => existsSync(join(root, s.name)));
  const maps = pinned.map((s) => mapStatus(root, s as MapSpec<unknown, unknown>));
  const missingMaps = specs.filter((s) => !pinned.includes(s)).map((s) => s.name);
  const cfg = existsSync(join(root, MapSpecs.config.name)) ? withPinned(root, MapSpecs.config, (m) => m.lookup(0)) : undefined;
  if (!cfg) missingMaps.push(MapSpecs.config.name);
  return {
    bpffsRoot,
    mapsDir: root,
    attachments: dsrlbAttachments(),
    // The links are no layout's: under the bpffs root itself.
    socketLb: socketLbStatus(bpffsRoot),
    config: cfg && cfg.nodeId !== 0 ? { nodeAddress: cfg.nodeAddress, mode: MODE_NAMES[cfg.mode] ?? String(cfg.mode), mtu: cfg.mtu } : null,
    maps,
    missingMaps,
    totalMapMemoryBytes: maps.reduce((a, m) => a + m.memoryBytes, 0),
    agent: await agentHealth(healthAddr),
  };
}

export function registerStatusCommand(program: Command): void {
  program.command('status')
    .description('programs attached here, datapath config, map fill, agent health')
    .option('--bpffs-root <dir>', 'bpffs directory of the agent', process.env['DSRLB_BPFFS_ROOT'] ?? DEFAULT_BPFFS_ROOT)
    .option('--health-addr <host:port>', "the agent's --health-addr", process.env['DSRLB_HEALTH_ADDR'] ?? DEFAULT_HEALTH_ADDR)
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { bpffsRoot: string; healthAddr: string; output: string }) => {
      const s = await readStatus(opts.bpffsRoot, opts.healthAddr);
      if (parseFormat(opts.output) === 'json') {
        printJson(s);
        return;
      }
      const devices = s.attachments.map((a) => `${a.device} (xdp ${a.xdp ?? 'none'}, tc egress ${a.tcEgress ? 'yes' : 'no'})`).join(', ');
      printTable(['', ''], [
        ['Devices', devices || 'none in this network namespace'],
        ['Socket LB', s.socketLb.attached ? `attached to ${s.socketLb.cgroup ?? 'a cgroup not under the cgroup2 mount'} (${s.socketLb.programs.join(', ')})` : 'not attached'],
        ['Node', s.config ? `${s.config.nodeAddress}, mode ${s.config.mode}, MTU ${s.config.mtu}` : 'not configured'],
        // The last sync has a row of its own.
        ['Agent', s.agent.healthy === null ? s.agent.detail : s.agent.healthy ? 'healthy' : `unhealthy: ${s.agent.detail}`],
        ...agentRows(s.agent),
        ['Capacity', s.agent.rejectedServices ? `${s.agent.rejectedServices} Services left out of the maps for want of room (see /healthz)` : 'every planned Service fits'],
        ...(s.missingMaps.length ? [['Missing maps', s.missingMaps.join(', ')]] : []),
        ['Map memory', `${(s.totalMapMemoryBytes / 2 ** 20).toFixed(1)} MiB`],
      ]);
      printTable(['MAP', 'ENTRIES', 'MAX', 'MEMORY'], s.maps.map((m) => [m.name, String(m.entries), String(m.maxEntries), `${(m.memoryBytes / 1024).toFixed(0)} KiB`]));
    });
}

function agentRows(a: AgentStatus): string[][] {
  return [
    ...(a.version ? [['Version', a.version]] : []),
    ...(a.source ? [['Source', sourceLine(a.source)]] : []),
    ...(a.programmed ? [['Programmed', `${a.programmed.services} Services, ${a.programmed.frontends} frontends`]] : []),
    ...(a.healthy !== null ? [['Last sync', a.lastSyncedAt ?? 'never']] : []),
  ];
}
