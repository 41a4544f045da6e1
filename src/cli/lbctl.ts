/** lbctl: inspect and drive dsrlb (docs/design.md §4). */
import { Command, CommanderError } from 'commander';
import { DsrlbError } from '../errors.js';
import { registerBpfCommands } from './bpf-commands.js';
import { registerLabCommand } from './lab-command.js';
import { registerMonitorCommand } from './monitor-command.js';
import { registerPlanCommand } from './plan-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerVersionCommand } from './version-command.js';
import { EXIT_FAILURE, EXIT_USAGE, printError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('lbctl')
    .description('dsrlb: eBPF load balancer with Geneve direct server return')
    .showHelpAfterError()
    .exitOverride();
  registerVersionCommand(program);
  registerBpfCommands(program);
  registerMonitorCommand(program);
  registerPlanCommand(program);
  registerStatusCommand(program);
  registerLabCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are "errors" to commander; they already printed.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return 0;
      return EXIT_USAGE;
    }
    printError(e);
    return e instanceof DsrlbError && e.code === 'ERR_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
  }
}
