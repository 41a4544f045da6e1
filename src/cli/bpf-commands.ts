/** `lbctl bpf ...`: read the pinned datapath maps. */
import type { Command } from 'commander';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { readStats } from '../bpf/stats.js';
import { listConnections } from './ct-list.js';
import { listBackends, listRevnat, listServices, maglevFor, serviceRows } from './lb-list.js';
import { parseFormat, printJson, printTable } from './output.js';

interface RootOpts { bpffsRoot: string; output: string }
interface LbListOpts extends RootOpts { backends?: boolean; revnat?: boolean; maglev?: string }

function withRoot(cmd: Command): Command {
  return cmd
    .option('--bpffs-root <dir>', 'bpffs directory of the agent', process.env['DSRLB_BPFFS_ROOT'] ?? DEFAULT_BPFFS_ROOT)
    .option('-o, --output <format>', 'text or json', 'text');
}

export function registerBpfCommands(program: Command): void {
  const bpf = program.command('bpf').description('inspect the datapath maps');
  const lb = bpf.command('lb').description('load-balancing maps');

  withRoot(lb.command('list').description('services and their backends (like `cilium bpf lb list`)'))
    .option('--backends', 'list lb4_backends')
    .option('--revnat', 'list lb4_revnat')
    .option('--maglev <svc>', 'the Maglev table of a service id or frontend address:port/proto')
    .action((opts: LbListOpts) => {
      const json = parseFormat(opts.output) === 'json';
      const root = opts.bpffsRoot;
      if (opts.backends) {
        const backends = listBackends(root);
        if (json) printJson(backends);
        else printTable(['BACKEND ID', 'ADDRESS', 'NODE ID', 'STATE'], backends.map((b) => [
          String(b.id), `${b.address}:${b.port}/${b.protocol}`, String(b.nodeId), b.terminating ? 'terminating' : 'active']));
      } else if (opts.revnat) {
        const revnat = listRevnat(root);
        if (json) printJson(revnat);
        else printTable(['REVNAT ID', 'ADDRESS'], revnat.map((r) => [String(r.id), `${r.address}:${r.port}`]));
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

  const ct = bpf.command('ct').description('connection tables');
  withRoot(ct.command('list').description('flows (LB node), reverse-NAT entries (backend node), SNAT entries'))
    .action((opts: RootOpts) => {
      const entries = listConnections(opts.bpffsRoot);
      if (parseFormat(opts.output) === 'json') printJson(entries);
      else printTable(['TABLE', 'TUPLE', 'ENTRY'], entries.map((e) => [e.table, e.tuple, e.entry]));
    });

  withRoot(bpf.command('stats').description('datapath counters, summed over CPUs'))
    .action((opts: RootOpts) => {
      const format = parseFormat(opts.output);
      const stats = readStats(opts.bpffsRoot);
      if (format === 'json') printJson(stats);
      else printTable(['COUNTER', 'VALUE'], Object.entries(stats).map(([k, v]) => [k, String(v)]));
    });
}
