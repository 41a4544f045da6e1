/**
 * `lbctl plan --manifests DIR --node-name NAME [--node-address IP]... [--zone Z] [-o json]`
 * (docs/design.md §4): what dsrlb would program on that node, offline — no root,
 * no kernel, no API server.
 */
import type { Command } from 'commander';
import { DsrlbError } from '../errors.js';
import { loadManifestDir } from '../k8s/manifests.js';
import { parseIp } from '../net/ip.js';
import { buildPlanReport, nodeNameWarning, planSkips, resolvePlanNode, type Frontend, type Plan } from '../plan/index.js';
import { parseFormat, printJson, printTable } from './output.js';
import { diagnosticLines, planDiagnostics, type PlanDiagnostic } from './plan-diagnostics.js';

export interface PlanCommandOptions {
  readonly manifests: string;
  readonly nodeName: string;
  readonly nodeAddress?: readonly string[];
  readonly zone?: string;
}

/** What `lbctl plan -o json` prints: the plan's contract fields, then what went wrong and what was left out. */
export interface PlanOutput extends Plan {
  /** Files and objects that could not be read or are invalid (the rest is planned): exit code 1. */
  readonly errors: readonly PlanDiagnostic[];
  /** What was read leniently, ignored, or left out on purpose. */
  readonly warnings: readonly PlanDiagnostic[];
}

export interface PlanCommandResult {
  readonly plan: Plan;
  readonly output: PlanOutput;
  /** For stderr: each file's path once, then its errors and warnings by line. */
  readonly diagnostics: readonly string[];
}

function usage(flag: string, message: string, remedy: string): DsrlbError {
  return new DsrlbError('ERR_USAGE', message, { subject: `--${flag}`, remedy });
}

/** Loads, plans, and reports; prints nothing. Throws DsrlbError for bad flags or an unreadable directory. */
export async function runPlanCommand(opts: PlanCommandOptions): Promise<PlanCommandResult> {
  if (!opts.nodeName) throw usage('node-name', 'is empty', 'pass the name of the node to plan for');
  for (const a of opts.nodeAddress ?? []) {
    // Strict on purpose: a flag typed as 010.0.0.1 may mean octal; only stored objects get kube-proxy's lenient reading.
    if (!parseIp(a)) throw usage('node-address', `'${a}' is not an IP address`, 'pass an IPv4 or IPv6 address without leading zeros, e.g. --node-address 198.51.100.1; repeat the flag for more');
  }
  const set = await loadManifestDir(opts.manifests);
  const node = resolvePlanNode(set.state, {
    name: opts.nodeName,
    ...(opts.nodeAddress?.length ? { addresses: opts.nodeAddress } : {}),
    ...(opts.zone !== undefined ? { zone: opts.zone } : {}),
  });
  const { plan, warnings } = buildPlanReport(set.state, node);
  const nodeWarning = nodeNameWarning(set.state, opts.nodeName);
  const files = [...new Set([...set.errors, ...set.notices, ...set.objects].map((x) => x.file))].sort();
  const found = planDiagnostics(set, files, [...warnings, ...planSkips(set.state)], nodeWarning === null ? null : { node: opts.nodeName, message: nodeWarning });
  const output: PlanOutput = { frontends: plan.frontends, healthCheckNodePorts: plan.healthCheckNodePorts, errors: found.errors, warnings: found.warnings };
  return { plan, output, diagnostics: diagnosticLines(found, files) };
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
      const { plan, output, diagnostics } = await runPlanCommand(opts);
      if (format === 'json') {
        printJson(output);
      } else {
        printTable(['SERVICE', 'PORT', 'KIND', 'FRONTEND', 'BACKENDS', 'SCOPE', 'OPTIONS'], planRows(plan));
        if (plan.healthCheckNodePorts.length > 0) {
          process.stdout.write('\n');
          printTable(['SERVICE', 'HEALTH CHECK PORT', 'LOCAL READY ENDPOINTS'],
            plan.healthCheckNodePorts.map((h) => [h.service, String(h.port), String(h.localReadyEndpoints)]));
        }
      }
      if (diagnostics.length > 0) process.stderr.write(`${diagnostics.join('\n')}\n`);
      const n = output.errors.length;
      if (n > 0) {
        throw new DsrlbError('ERR_MANIFESTS_INVALID', `${n} error${n === 1 ? '' : 's'} in the manifests (listed above); everything else was planned and printed`, {
          remedy: 'fix them and run lbctl plan again',
        });
      }
    });
}
