/** `lbctl bpf ...`: read the pinned datapath maps. */
import type { Command } from 'commander';
import { DEFAULT_BPFFS_ROOT } from '../bpf/pins.js';
import { readStats } from '../bpf/stats.js';
import { listServices, serviceRows } from './lb-list.js';
import { parseFormat, printJson, printTable } from './output.js';

interface RootOpts { bpffsRoot: string; output: string }

function withRoot(cmd: Command): Command {
  return cmd
    .option('--bpffs-root <dir>', 'bpffs directory of the agent', process.env['DSRLB_BPFFS_ROOT'] ?? DEFAULT_BPFFS_ROOT)
    .option('-o, --output <format>', 'text or json', 'text');
}

export function registerBpfCommands(program: Command): void {
  const bpf = program.command('bpf').description('inspect the datapath maps');
  const lb = bpf.command('lb').description('load-balancing maps');

  withRoot(lb.command('list').description('services and their backends (like `cilium bpf lb list`)'))
    .action((opts: RootOpts) => {
      const format = parseFormat(opts.output);
      const services = listServices(opts.bpffsRoot);
      if (format === 'json') printJson(services);
      else printTable(['SERVICE ADDRESS', 'BACKEND ADDRESS (REVNAT_ID) (SLOT)'], serviceRows(services));
    });

  withRoot(bpf.command('stats').description('datapath counters, summed over CPUs'))
    .action((opts: RootOpts) => {
      const format = parseFormat(opts.output);
      const stats = readStats(opts.bpffsRoot);
      if (format === 'json') printJson(stats);
      else printTable(['COUNTER', 'VALUE'], Object.entries(stats).map(([k, v]) => [k, String(v)]));
    });
}
