/**
 * `lbctl monitor`: the datapath's events as they happen (docs/design.md §4),
 * like `cilium monitor`. It opens the gate for the types asked for
 * (src/bpf/monitor.ts), polls the ring buffer every POLL_MS, renews the
 * lease every DSRLB_MONITOR_RENEW_MS, and on SIGINT/SIGTERM or a closed
 * stdout shuts the gate and exits 0.
 */
import type { Command } from 'commander';
import { DSRLB_MONITOR_RENEW_MS } from '../bpf/consts.generated.js';
import { currentLayoutDir } from '../bpf/layout-read.js';
import { MapSpecs, withPinned } from '../bpf/map-specs.js';
import { MONITOR_EVENT_TYPES, MonitorSession, monotonicNowNs, type MonitorEvent, type MonitorEventType } from '../bpf/monitor.js';
import { links } from '../bpf/netdev.js';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { DsrlbError } from '../errors.js';
import { DEFAULT_HEALTH_ADDR } from '../agent/config.js';
import type { Lb4Key } from '../bpf/codecs/services.js';
import { agentServices } from './agent-services.js';
import {
  formatJson, formatText, matchesService, parseServiceArg, serviceFrontends, type Endpoint, type ServiceArg, type ServiceFilter,
} from './monitor-format.js';
import { parseFormat } from './output.js';

/** How often the ring buffer is read: events show within this, and it holds ~4,000 between two reads. */
const POLL_MS = 100;

interface MonitorOpts { bpffsRoot: string; output: string; type: string; service?: string; healthAddr: string }

export function parseTypes(text: string): MonitorEventType[] {
  const words = text.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
  const types = new Set<MonitorEventType>();
  for (const w of words) {
    if (w === 'all') MONITOR_EVENT_TYPES.forEach((x) => types.add(x));
    else if ((MONITOR_EVENT_TYPES as readonly string[]).includes(w)) types.add(w as MonitorEventType);
    else throw new DsrlbError('ERR_USAGE', `unknown event type '${w}'`, { remedy: `use --type ${MONITOR_EVENT_TYPES.join('|')}|all (comma-separated)` });
  }
  if (types.size === 0) throw new DsrlbError('ERR_USAGE', 'no event type given', { remedy: 'use --type drop, trace or drop,trace' });
  return [...types];
}

/** The frontends' local backends, from lb4_services and lb4_local_backends (read again at every lease renewal). */
function resolveService(dir: string, frontends: readonly Endpoint[]): ServiceFilter {
  const matches = (f: Endpoint, k: Lb4Key): boolean => k.address === f.address && k.port === f.port && (f.proto === null || k.proto === f.proto);
  const ids = withPinned(dir, MapSpecs.services, (m) => m.entries()
    .filter(([k]) => frontends.some((f) => matches(f, k)))
    .map(([, v]) => v.serviceId));
  if (ids.length === 0) {
    const named = frontends.map((f) => `${f.address}:${f.port}`).join(', ');
    throw new DsrlbError('ERR_NO_SERVICE', `no frontend ${named} in the datapath`, {
      subject: dir, remedy: 'pass a frontend from `lbctl bpf lb list`',
    });
  }
  const backends = withPinned(dir, MapSpecs.localBackends, (m) => m.entries()
    .filter(([k]) => ids.includes(k.serviceId))
    .map(([k]) => ({ address: k.address, port: k.port, proto: k.proto })));
  return { frontends, backends };
}

/** --service as frontends: the one given, or those the agent (GET /v1/services on `healthAddr`) serves for namespace/name. */
async function frontendsOf(arg: ServiceArg, healthAddr: string): Promise<readonly Endpoint[]> {
  if ('frontend' in arg) return [arg.frontend];
  const agent = await agentServices(healthAddr);
  if ('error' in agent) {
    throw new DsrlbError('ERR_AGENT_UNREACHABLE', `cannot resolve Service ${arg.service} to its frontends: ${agent.error}`, {
      subject: healthAddr, remedy: "is the agent running? pass its --health-addr, or the frontend as VIP:PORT (`lbctl bpf lb list`)",
    });
  }
  const frontends = serviceFrontends(agent.body, arg.service);
  if (frontends.length === 0) {
    throw new DsrlbError('ERR_NO_SERVICE', `the agent serves no Service ${arg.service}`, {
      subject: healthAddr, remedy: '`lbctl service list` shows the Services the agent serves, as namespace/name',
    });
  }
  return frontends;
}

/** ifindex -> device name, read again (at most once a second) when an event names one it does not know. */
function deviceNames(): (ifindex: number) => string | undefined {
  let names = new Map<number, string>();
  let readAt = 0;
  const read = (): void => {
    readAt = Date.now();
    try { names = new Map(links().map((l) => [l.ifindex, l.name])); } catch { /* no iproute2: ifindex alone */ }
  };
  read();
  return (ifindex) => {
    if (!names.has(ifindex) && Date.now() - readAt > 1000) read();
    return names.get(ifindex);
  };
}

export async function runMonitor(opts: MonitorOpts, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  // Every argument is checked before the gate is opened.
  const types = parseTypes(opts.type);
  const json = parseFormat(opts.output) === 'json';
  const service = opts.service === undefined ? undefined : parseServiceArg(opts.service);
  const dir = currentLayoutDir(opts.bpffsRoot);
  const frontends = service && await frontendsOf(service, opts.healthAddr);
  let filter = frontends && resolveService(dir, frontends);
  const session = MonitorSession.open(dir, types);
  const device = deviceNames();
  let lost = 0n;

  return new Promise((resolve, reject) => {
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      timers.forEach((t) => clearInterval(t));
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('exit', onExit);
      try {
        session.close();
      } catch (e) {
        err ??= e;
      }
      if (err === undefined) resolve();
      else reject(err);
    };
    const onSignal = (): void => finish();
    // lbctl's closed-pipe handler (output.ts) exits at once: the gate is shut on the way out.
    const onExit = (): void => session.close();
    // A reader that went away (`lbctl monitor | head`): the end, quietly.
    out.on('error', () => finish());
    process.once('exit', onExit);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const show = (events: MonitorEvent[]): void => {
      const offset = BigInt(Date.now()) * 1_000_000n - monotonicNowNs();
      const lines = events
        .filter((e) => types.includes(e.type) && (!filter || matchesService(e, filter)))
        .map((e) => (json ? formatJson : formatText)(e, offset, device(e.ifindex)));
      if (lines.length > 0) out.write(`${lines.join('\n')}\n`);
      const nowLost = session.lost();
      if (nowLost > lost) process.stderr.write(`lbctl monitor: ${nowLost - lost} events lost (the ring buffer was full)\n`);
      lost = nowLost;
    };
    const guarded = (fn: () => void) => (): void => {
      if (done) return;
      try { fn(); } catch (e) { finish(e); }
    };
    timers.push(setInterval(guarded(() => show(session.poll())), POLL_MS));
    timers.push(setInterval(guarded(() => {
      session.renew();
      if (frontends) filter = resolveService(dir, frontends);
    }), DSRLB_MONITOR_RENEW_MS));
  });
}

export function registerMonitorCommand(program: Command): void {
  program.command('monitor')
    .description('datapath events as they happen: drops with their reason, and traces of encapsulation, decapsulation and rewrites (like `cilium monitor`)')
    .option('-t, --type <types>', 'event types: drop, trace, or drop,trace (all)', 'drop')
    .option('--service <vip:port|ns/name>', 'only events of this frontend (VIP:PORT[/PROTO]), or of every frontend of this Service (namespace/name, from the agent), and their local backends')
    .option('--health-addr <host:port>', "the agent's --health-addr, to resolve --service namespace/name", process.env['DSRLB_HEALTH_ADDR'] ?? DEFAULT_HEALTH_ADDR)
    .option('--bpffs-root <dir>', 'bpffs directory of the agent', process.env['DSRLB_BPFFS_ROOT'] ?? DEFAULT_BPFFS_ROOT)
    .option('-o, --output <format>', 'text (one line per event) or json (one object per line)', 'text')
    .action((opts: MonitorOpts) => runMonitor(opts));
}
