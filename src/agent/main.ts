/** dsrlb-agent: flags (docs/design.md §4), `cleanup`, signals, exit codes. */
import { Command, CommanderError, Option } from 'commander';
import { DsrlbError } from '../errors.js';
import { Agent } from './agent.js';
import { cleanup, cleanupText } from './cleanup.js';
import { DEFAULT_HEALTH_ADDR, DEFAULT_METRICS_ADDR, ENV_VARS, mergeEnv, parseAgentConfig, type RawAgentOptions } from './config.js';
import { buildInfo, packageVersion } from './version.js';

const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

function flag(name: string, key: keyof RawAgentOptions, description: string): Option {
  return new Option(`--${name} <value>`, `${description} [${ENV_VARS[key]}]`);
}

/** A boolean flag: `--name` alone is true, `--name=false` false. */
function boolFlag(name: string, key: keyof RawAgentOptions, description: string): Option {
  return new Option(`--${name} [bool]`, `${description} [${ENV_VARS[key]}]`);
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new DsrlbError('ERR_PRIVILEGES', 'dsrlb-agent loads BPF programs and attaches them to devices',
      { remedy: 'run it as root (or with CAP_BPF + CAP_NET_ADMIN + CAP_SYS_ADMIN)' });
  }
}

export function buildProgram(onAgent: (agent: Agent) => void): Command {
  const program = new Command('dsrlb-agent')
    .description('dsrlb node agent: XDP/tc load balancing with Geneve direct server return')
    // `cleanup --bpffs-root X` must reach the subcommand, not the agent's own flag.
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError()
    .version(`dsrlb-agent ${packageVersion()}`, '--version', 'print the version and exit')
    // `dsrlb-agent help [command]`, as well as --help.
    .helpCommand(true)
    .addOption(flag('kubeconfig', 'kubeconfig', 'kubeconfig file (else in-cluster, else KUBECONFIG)'))
    .addOption(flag('api-server', 'apiServer', 'API server URL, bypassing any ClusterIP (e.g. https://10.0.0.1:6443)'))
    .addOption(flag('manifests', 'manifests', 'standalone: a directory of Service/EndpointSlice/Node manifests, watched'))
    .addOption(flag('node-name', 'nodeName', 'this node\'s name'))
    .addOption(flag('node-address', 'nodeAddress', 'this node\'s IPv4 (default: the first device\'s)'))
    .addOption(flag('devices', 'devices', 'comma-separated devices that carry service traffic'))
    .addOption(flag('mode', 'mode', 'dsr | snat | hybrid (default dsr)'))
    .addOption(flag('xdp-mode', 'xdpMode', 'native | generic (default native)'))
    .addOption(new Option('--xdp-replace-foreign', `attach over an XDP program dsrlb did not attach (default: refuse to start) [${ENV_VARS.xdpReplaceForeign}]`))
    .addOption(flag('geneve-port', 'genevePort', 'UDP port of dsrlb\'s Geneve, the same on every node (default 6081)'))
    .addOption(flag('generated-replies-rate', 'generatedRepliesRate', 'RSTs / ICMP errors the datapath may send a second, per CPU; 0: none (default 1000)'))
    .addOption(flag('generated-replies-burst', 'generatedRepliesBurst', 'burst of those, per CPU (default 50)'))
    .addOption(flag('maglev-table-size', 'maglevTableSize', 'cap on Maglev table sizes, which are 1021 x 2^k (default 16381: tables of up to 16336 slots)'))
    .addOption(flag('revnat-max', 'revnatMax', 'reverse-NAT entries of established connections, lb4_dsr_revnat (default 32768)'))
    .addOption(flag('revnat-unconfirmed-max', 'revnatUnconfirmedMax',
      'reverse-NAT entries of connections the pod has not confirmed and of UDP flows, lb4_dsr_revnat_new (default 16384)'))
    .addOption(flag('flows-max', 'flowsMax', 'LB-node flow entries of connections the pod confirmed (SNAT mode), lb4_flows (default 16384)'))
    .addOption(flag('flows-unconfirmed-max', 'flowsUnconfirmedMax',
      'LB-node flow entries not confirmed (new, UDP, affinity in DSR mode), lb4_flows_new; lb4_snat_new gets twice (default 4096)'))
    .addOption(flag('revnat-fallback', 'revnatFallback',
      'off | unique-frontend: a reply without reverse-NAT state leaves from its backend\'s only frontend (default off)'))
    .addOption(flag('bpffs-root', 'bpffsRoot', 'where maps are pinned (default /sys/fs/bpf/dsrlb)'))
    .addOption(flag('bpf-object-dir', 'bpfObjectDir', 'directory of the build\'s xdp_lb.o and tc_revnat.o (default build/bpf)'))
    .addOption(flag('mtu', 'mtu', 'inter-node MTU (default: the first device\'s)'))
    .addOption(flag('metrics-addr', 'metricsAddr', `Prometheus /metrics address; 0.0.0.0:PORT to be scraped from other hosts (default ${DEFAULT_METRICS_ADDR})`))
    .addOption(flag('health-addr', 'healthAddr', `/healthz address (default ${DEFAULT_HEALTH_ADDR})`))
    .addOption(flag('healthz-bind-address', 'healthzBindAddress',
      'kube-proxy\'s node health endpoint, /healthz and /livez; empty: off (default 0.0.0.0:10256)'))
    .addOption(flag('manifests-max-file-bytes', 'manifestsMaxFileBytes', 'a manifest file larger than this is refused (default 8388608)'))
    .addOption(flag('manifests-max-objects', 'manifestsMaxObjects', 'a manifest file with more objects than this is refused (default 20000)'))
    .addOption(flag('log-level', 'logLevel', 'trace | debug | info | warn | error (default info)'))
    .addOption(flag('log-format', 'logFormat', 'text (one line an event, for people) | json (one JSON object a line, for collectors) (default text)'))
    .addOption(flag('sync-period', 'syncPeriod', 'how often the maps are read back and repaired to the plan, e.g. 30s, 1h (default 1h)'))
    .addOption(boolFlag('socket-lb', 'socketLb', 'socket-level LB for pods and node processes on cgroup hooks (default true)'))
    .addOption(flag('cgroup-root', 'cgroupRoot', 'cgroup2 directory the socket LB attaches to (default: the cgroup2 mount)'))
    .addOption(boolFlag('socket-lb-host-namespace-only', 'socketLbHostNamespaceOnly',
      'socket LB only for processes in the host network namespace (default false)'))
    .action(async (opts: RawAgentOptions) => {
      const config = parseAgentConfig(mergeEnv(opts, process.env));
      requireRoot();
      const agent = new Agent(config, undefined, {
        onFatal: (e) => {
          process.stderr.write(`dsrlb-agent: ${oneLine(e)}\n`);
          void agent.stop().finally(() => process.exit(EXIT_FAILURE));
        },
      });
      onAgent(agent);
      await agent.start();
    });

  program.command('cleanup')
    .description('detach dsrlb from every device of this network namespace and its cgroup, remove the neighbour entries it added and its pinned maps')
    .addOption(flag('bpffs-root', 'bpffsRoot', 'where maps are pinned (default /sys/fs/bpf/dsrlb)'))
    .option('-o, --output <format>', 'text (what was removed, a line each) or json', 'text')
    .action((opts: { bpffsRoot?: string; output: string }) => {
      const format = outputFormat(opts.output);
      requireRoot();
      const root = opts.bpffsRoot ?? process.env[ENV_VARS.bpffsRoot] ?? '/sys/fs/bpf/dsrlb';
      const report = cleanup(root);
      process.stdout.write(format === 'json' ? `${JSON.stringify(report)}\n` : cleanupText(report, root));
    });

  program.command('version')
    .description('print the versions of dsrlb, libbpf and Node.js')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { output: string }) => {
      const info = buildInfo();
      process.stdout.write(outputFormat(opts.output) === 'json' ? `${JSON.stringify(info)}\n`
        : `dsrlb-agent ${info.version} (libbpf ${info.libbpf}, Node.js ${info.nodejs})\n`);
    });
  return program;
}

function outputFormat(value: string): 'text' | 'json' {
  if (value === 'text' || value === 'json') return value;
  throw new DsrlbError('ERR_USAGE', `unknown output format '${value}'`, { subject: '--output', remedy: 'use text or json' });
}

function oneLine(e: unknown): string {
  const line = e instanceof DsrlbError ? e.toLine() : e instanceof Error ? e.message : String(e);
  return line.split('\n')[0] ?? '';
}

export async function main(argv: string[]): Promise<void> {
  let agent: Agent | undefined;
  const stop = (signal: string): void => {
    if (!agent) process.exit(0);
    agent.stop().then(() => process.exit(0), (e: unknown) => {
      process.stderr.write(`dsrlb-agent: stopping on ${signal} failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(EXIT_FAILURE);
    });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    await buildProgram((a) => { agent = a; }).parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    process.stderr.write(`dsrlb-agent: ${oneLine(e)}\n`);
    process.exitCode = e instanceof DsrlbError && e.code === 'ERR_USAGE' ? EXIT_USAGE : EXIT_FAILURE;
    await agent?.stop().catch(() => undefined);
  }
}
