/**
 * `lbctl plan --manifests DIR --node-name NAME [--node-address IP]... [--zone Z] [-o json]`
 * (docs/design.md §4): what dsrlb would program on that node, offline — no root,
 * no kernel, no API server.
 */
import type { Command } from 'commander';
import { DsrlbError } from '../errors.js';
import { formatManifestError, formatManifestNotice, loadManifestDir } from '../k8s/manifests.js';
import { parseIp } from '../net/ip.js';
import { buildPlanReport, resolvePlanNode, type Frontend, type Plan } from '../plan/index.js';
import { parseFormat, printJson, printTable } from './output.js';

export interface PlanCommandOptions {
  readonly manifests: string;
  readonly nodeName: string;
  readonly nodeAddress?: readonly string[];
  readonly zone?: string;
}

export interface PlanCommandResult {
  readonly plan: Plan;
  /** One line each, for stderr: manifest errors, then notes and plan warnings. */
  readonly diagnostics: readonly string[];
}

function usage(flag: string, message: string, remedy: string): DsrlbError {
  return new DsrlbError('ERR_USAGE', message, { subject: `--${flag}`, remedy });
}

/** Loads, plans, and reports; prints nothing. Throws DsrlbError for bad flags or an unreadable directory. */
export async function runPlanCommand(opts: PlanCommandOptions): Promise<PlanCommandResult> {
  if (!opts.nodeName) throw usage('node-name', 'is empty', 'pass the name of the node to plan for');
  for (const a of opts.nodeAddress ?? []) {
    if (!parseIp(a)) throw usage('node-address', `'${a}' is not an IP address`, 'pass an IPv4 or IPv6 address, e.g. --node-address 198.51.100.1; repeat the flag for more');
  }
  const set = await loadManifestDir(opts.manifests);
  const node = resolvePlanNode(set.state, {
    name: opts.nodeName,
    ...(opts.nodeAddress?.length ? { addresses: opts.nodeAddress } : {}),
    ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
  });
  const { plan, warnings } = buildPlanReport(set.state, node);
  const diagnostics = [
    ...set.errors.map((e) => `error: ${formatManifestError(e)}`),
    ...set.notices.map((n) => `note: ${formatManifestNotice(n)}`),
    ...warnings.map((w) => `warning: ${w.service}: ${w.message}`),
  ];
  return { plan, diagnostics };
}

function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Rows for the text table: one per frontend. */
export function planRows(plan: Plan): string[][] {
  return plan.frontends.map((f: Frontend) => [
    f.service,
    f.servicePort || '-',
    f.kind,
    `${hostPort(f.address, f.port)}/${f.protocol}`,
    f.noEndpointsAction ?? (f.backends.map((b) => `${hostPort(b.address, b.port)}${b.terminating ? ' (terminating)' : ''}`).join(', ') || '-'),
    f.trafficScope,
    [
      f.sessionAffinityTimeoutSeconds === null ? '' : `affinity ${f.sessionAffinityTimeoutSeconds}s`,
      f.sourceRanges === null ? '' : `from ${f.sourceRanges.join(',')}`,
    ].filter(Boolean).join('; ') || '-',
  ]);
}

export function registerPlanCommand(program: Command): void {
  program.command('plan')
    .description('what dsrlb would program on a node, from a directory of manifests (offline)')
    .requiredOption('--manifests <dir>', 'directory of YAML/JSON Services, EndpointSlices and Nodes')
    .requiredOption('--node-name <name>', 'the node to plan for')
    .option('--node-address <ip>', 'an address of the node, for NodePort frontends (repeatable; default: the Node object\'s)',
      (value: string, previous: string[]) => [...previous, value], [] as string[])
    .option('--zone <zone>', 'the node\'s topology zone (default: the Node object\'s label)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { manifests: string; nodeName: string; nodeAddress: string[]; zone?: string; output: string }) => {
      const format = parseFormat(opts.output);
      const { plan, diagnostics } = await runPlanCommand(opts);
      for (const line of diagnostics) process.stderr.write(`lbctl: ${line}\n`);
      if (format === 'json') {
        printJson(plan);
        return;
      }
      printTable(['SERVICE', 'PORT', 'KIND', 'FRONTEND', 'BACKENDS', 'SCOPE', 'OPTIONS'], planRows(plan));
      if (plan.healthCheckNodePorts.length > 0) {
        process.stdout.write('\n');
        printTable(['SERVICE', 'HEALTH CHECK PORT', 'LOCAL READY ENDPOINTS'],
          plan.healthCheckNodePorts.map((h) => [h.service, String(h.port), String(h.localReadyEndpoints)]));
      }
    });
}
