/** `lbctl bpf ...`: read the pinned datapath maps. */
import { Option, type Command } from 'commander';
import { currentLayoutDir } from '../bpf/layout-read.js';
import { DsrlbError } from '../errors.js';
import { pinnedMaps } from '../bpf/map-census.js';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { readStatBytes, readStats } from '../bpf/stats.js';
import { connectionRows, listConnections } from './ct-list.js';
import { formatBytes } from './describe.js';
import { listBackends, listRevnat, listServices, maglevFor, nodeLabel, serviceRows } from './lb-list.js';
import { parseFormat, printJson, printTable } from './output.js';
import { statsJson, statsRows } from './stats-view.js';

interface RootOpts { bpffsRoot: string; output: string }
interface LbListOpts extends RootOpts { backends?: boolean; revnat?: boolean; maglev?: string }

/** The maps read are those of the layout in use under the root (the attached programs', else the newest). */
export function withRoot(cmd: Command): Command {
  return cmd
    .option('--bpffs-root <dir>', 'bpffs directory of the agent', process.env['DSRLB_BPFFS_ROOT'] ?? DEFAULT_BPFFS_ROOT)
    .option('-o, --output <format>', 'text or json', 'text');
}

/** One view at a time: commander reports a second one as a usage error (exit 2). */
function lbViews(cmd: Command): Command {
  const views = ['backends', 'revnat', 'maglev'];
  const others = (v: string): string[] => views.filter((x) => x !== v);
  return cmd
    .addOption(new Option('--backends', 'list lb4_backends').conflicts(others('backends')))
    .addOption(new Option('--revnat', 'list lb4_revnat').conflicts(others('revnat')))
    .addOption(new Option('--maglev <svc>', 'the Maglev table of a service id or frontend address:port/proto').conflicts(others('maglev')));
}

function registerLbList(bpf: Command): void {
  const lb = bpf.command('lb').description('load-balancing maps');
  lbViews(withRoot(lb.command('list').description('services and their backends (like `cilium bpf lb list`); one of --backends, --revnat, --maglev for another view')))
    .action((opts: LbListOpts) => {
      const json = parseFormat(opts.output) === 'json';
      const root = currentLayoutDir(opts.bpffsRoot);
      if (opts.backends) {
        const backends = listBackends(root);
        if (json) printJson(backends);
        else printTable(['BACKEND ID', 'ADDRESS', 'NODE', 'STATE'], backends.map((b) => [
          String(b.id), `${b.address}:${b.port}/${b.protocol}`, nodeLabel(b), b.terminating ? 'terminating' : 'active']));
      } else if (opts.revnat) {
        const revnat = listRevnat(root);
        if (json) printJson(revnat);
        else printTable(['REVNAT ID', 'ADDRESS'], revnat.map((r) => [String(r.id), `${r.address}:${r.port}/${r.protocol ?? '(no frontend)'}`]));
      } else if (opts.maglev !== undefined) {
        const t = maglevFor(root, opts.maglev);
        if (json) printJson(t);
        else printTable(['BACKEND ID', 'SLOTS', 'SHARE'], Object.entries(t.share).map(([id, n]) => [id, String(n), `${((100 * n) / t.size).toFixed(2)}%`]));
      } else {
        const services = listServices(root);
        if (json) printJson(services);
        else printTable(['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)', 'TYPE'], serviceRows(services));
      }
    });
}

export function registerBpfCommands(program: Command): void {
  const bpf = program.command('bpf').description('inspect the datapath maps');

  withRoot(bpf.command('list').description('every dsrlb map pinned under the root and its layout directories (like `cilium map list`)'))
    .action((opts: RootOpts) => {
      const format = parseFormat(opts.output);
      const maps = pinnedMaps(opts.bpffsRoot);
      if (maps.length === 0) {
        throw new DsrlbError('ERR_NOT_PINNED', 'no map is pinned here', {
          subject: opts.bpffsRoot, remedy: 'is the agent running, and is --bpffs-root the one it uses?',
        });
      }
      if (format === 'json') {
        printJson(maps);
        return;
      }
      printTable(['NAME', 'TYPE', 'ENTRIES', 'MAX ENTRIES', 'MEMORY', 'PIN'], maps.map((m) => [
        m.name, m.type, m.entries === null ? '-' : String(m.entries), String(m.maxEntries), formatBytes(m.memoryBytes),
        m.current || m.layout === null ? m.path : `${m.path} (not the layout in use)`,
      ]));
    });

  registerLbList(bpf);

  const ct = bpf.command('ct').description('connection tables');
  withRoot(ct.command('list').description('flows (LB node), reverse-NAT entries (backend node), SNAT, affinity and socket entries, with age and state'))
    .action((opts: RootOpts) => {
      const entries = listConnections(currentLayoutDir(opts.bpffsRoot));
      if (parseFormat(opts.output) === 'json') printJson(entries);
      else printTable(['TABLE', 'TUPLE', 'ENTRY', 'AGE', 'EXPIRES', 'STATE'], connectionRows(entries));
    });

  withRoot(bpf.command('stats').description('datapath counters (packets), and the bytes of forwards, summed over CPUs'))
    .action((opts: RootOpts) => {
      const format = parseFormat(opts.output);
      const root = currentLayoutDir(opts.bpffsRoot);
      const packets = readStats(root);
      const bytes = readStatBytes(root);
      if (format === 'json') printJson(statsJson(packets, bytes));
      else printTable(['COUNTER', 'VALUE', 'BYTES'], statsRows(packets, bytes));
    });
}
