/** `lbctl service list`: frontends with their Services, from the maps and the agent (src/cli/service-list.ts). */
import type { Command } from 'commander';
import { DEFAULT_HEALTH_ADDR } from '../agent/config.js';
import { currentLayoutDir } from '../bpf/layout-read.js';
import { agentServices } from './agent-services.js';
import { withRoot } from './bpf-commands.js';
import { listServices, readNodeView } from './lb-list.js';
import { parseFormat, printJson, printNote, printTable } from './output.js';
import { joinServices, serviceListRows } from './service-list.js';

export function registerServiceCommands(program: Command): void {
  const service = program.command('service').description('Services as the datapath serves them');
  withRoot(service.command('list').description('one row per frontend: its Service, type and flags, backends with state and node (like `cilium service list`)'))
    .option('--health-addr <host:port>', "the agent's --health-addr, for Service and node names", process.env['DSRLB_HEALTH_ADDR'] ?? DEFAULT_HEALTH_ADDR)
    .action(async (opts: { bpffsRoot: string; output: string; healthAddr: string }) => {
      const format = parseFormat(opts.output);
      const root = currentLayoutDir(opts.bpffsRoot);
      const nodes = readNodeView(root);
      const maps = listServices(root, nodes);
      const agent = await agentServices(opts.healthAddr);
      const list = 'body' in agent ? joinServices(maps, nodes, agent.body) : joinServices(maps, nodes, null, agent.error);
      if (format === 'json') {
        printJson(list);
        return;
      }
      if (list.note) printNote(list.note);
      printTable(['ID', 'SERVICE', 'FRONTEND', 'TYPE', 'BACKENDS'], serviceListRows(list));
    });
}
