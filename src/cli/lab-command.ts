/**
 * `lbctl lab up|test|bench|demo|down|list`: the network-namespace lab
 * (src/lab/, docs/lab.md). Progress goes to stderr, results to stdout.
 */
import type { Command } from 'commander';
import type { Mode } from '../agent/config.js';
import { DsrlbError } from '../errors.js';
import { BENCH_HEAD, benchRows, runBench } from '../lab/bench.js';
import { runDemo } from '../lab/demo.js';
import { Lab, teardownLab } from '../lab/lab.js';
import { LAB_HTTP_PORT, LAB_IPERF_PORT, LAB_NODE_PORT, LAB_UDP_PORT, LAB_VIP } from '../lab/manifests.js';
import { runLabChecks } from '../lab/selftest.js';
import { findLabs, isLeftover, ownerAlive } from '../lab/state.js';
import { agentBpffsRoot } from '../lab/agents.js';
import { parseFormat, printJson, printTable } from './output.js';

const DEFAULT_ID = 'lab';

function requireRootForLab(): void {
  if (process.getuid?.() !== 0) {
    throw new DsrlbError('ERR_PRIVILEGES', 'the lab creates network namespaces and loads BPF programs', { remedy: 'run it as root' });
  }
}

function progress(line: string): void {
  process.stderr.write(`lab: ${line}\n`);
}

/** ^C or a kill ends the process through exit, whose hook tears the lab down. */
function exitOnSignals(): void {
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

function integer(flag: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new DsrlbError('ERR_USAGE', `'${v}' is not a whole number in [${min}, ${max}]`, { subject: `--${flag}` });
    return n;
  };
}

function mode(v: string): Mode {
  if (v === 'dsr' || v === 'snat' || v === 'hybrid') return v;
  throw new DsrlbError('ERR_USAGE', `unknown mode '${v}'`, { subject: '--mode', remedy: 'use dsr, snat or hybrid' });
}

function labId(v: string): string {
  if (!/^[a-z0-9]{1,8}$/.test(v)) throw new DsrlbError('ERR_USAGE', `'${v}' is not a lab id`, { subject: '--id', remedy: 'use 1-8 lower-case letters or digits' });
  return v;
}

interface UpOpts { id: string; nodes: number; podsPerNode: number; mode: Mode; mtu?: number; agents: boolean }

export function registerLabCommand(program: Command): void {
  const lab = program.command('lab').description('a multi-node lab in network namespaces: real agents, real traffic (root)');

  lab.command('up')
    .description('bring a lab up and leave it running (until `lbctl lab down`)')
    .option('--id <id>', 'lab id (namespaces are named dsrlb-<id>-...)', labId, DEFAULT_ID)
    .option('--nodes <n>', 'nodes', integer('nodes', 1, 8), 3)
    .option('--pods-per-node <n>', 'pods on each node', integer('pods-per-node', 1, 20), 1)
    .option('--mode <mode>', 'agent mode: dsr, snat or hybrid', mode, 'dsr' as Mode)
    .option('--mtu <n>', 'inter-node MTU given to the agents (default: the uplink\'s)', integer('mtu', 576, 9000))
    .option('--no-agents', 'the lab without agents')
    .action(async (opts: UpOpts) => {
      requireRootForLab();
      const up = await Lab.up({
        id: opts.id, nodes: opts.nodes, podsPerNode: opts.podsPerNode, mode: opts.mode, agents: opts.agents,
        ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}), persistent: true, progress,
      });
      const t = up.topo;
      const a = t.nodes[0];
      process.stdout.write([
        `lab ${t.id} is up: client ${t.client.address} (namespace ${t.client.ns}), ${t.nodes.map((n) => `${n.name} ${n.address}`).join(', ')}`,
        `service lab/web: VIP ${LAB_VIP} (http ${LAB_HTTP_PORT}, iperf3 ${LAB_IPERF_PORT}, udp ${LAB_UDP_PORT}), NodePorts ${LAB_NODE_PORT}-${LAB_NODE_PORT + 2}`,
        'try:',
        `  ip netns exec ${t.client.ns} curl -s http://${LAB_VIP}/`,
        ...(a ? [`  node bin/lbctl.js bpf lb list --bpffs-root ${agentBpffsRoot(t, a)}`] : []),
        `  manifests: ${t.workDir}/manifests/<node>/lab.yaml   logs: ${t.workDir}/logs/`,
        `tear down: node bin/lbctl.js lab down${t.id === DEFAULT_ID ? '' : ` --id ${t.id}`}`,
        '',
      ].join('\n'));
    });

  lab.command('down')
    .description('tear a lab down: the one `lab up` made, and leftovers of crashed runs')
    .option('--id <id>', 'only this lab (even if a process still uses it)', labId)
    .option('--all', 'every lab, including ones in use and ones made by other tools')
    .action((opts: { id?: string; all?: boolean }) => {
      requireRootForLab();
      const found = findLabs();
      let removed = 0;
      for (const l of found) {
        const wanted = opts.all || (opts.id ? l.id === opts.id : l.state?.owner === null || isLeftover(l));
        if (!wanted) {
          if (!opts.id) {
            const why = l.state?.owner && ownerAlive(l.state.owner) ? `in use by pid ${l.state.owner.pid}` : 'not made by lbctl lab';
            process.stderr.write(`lab: left ${l.id} alone (${why}); --id ${l.id} removes it\n`);
          }
          continue;
        }
        teardownLab(l.id);
        removed++;
        process.stdout.write(`removed lab ${l.id} (${l.namespaces.length} namespaces${l.bpffs ? ', pinned maps' : ''}${l.workDir ? ', work directory' : ''})\n`);
      }
      if (opts.id && !found.some((l) => l.id === opts.id)) process.stdout.write(`no lab ${opts.id}\n`);
      else if (removed === 0 && !opts.id) process.stdout.write('no lab to remove\n');
    });

  lab.command('list')
    .description('labs on this machine')
    .action(() => {
      requireRootForLab();
      const rows = findLabs().map((l) => [
        l.id, String(l.namespaces.length), l.state?.mode ?? '-',
        l.state ? (l.state.owner === null ? 'lab up' : ownerAlive(l.state.owner) ? `pid ${l.state.owner.pid}` : 'leftover') : 'unknown',
        l.state?.createdAt ?? '-',
      ]);
      printTable(['ID', 'NAMESPACES', 'MODE', 'OWNER', 'CREATED'], rows);
    });

  lab.command('test')
    .description('bring a lab up, check the main paths end to end, tear down (exit 1 on a failed check)')
    .option('--id <id>', 'lab id (default random)', labId)
    .action(async (opts: { id?: string }) => {
      requireRootForLab();
      exitOnSignals();
      const up = await Lab.up({ ...(opts.id ? { id: opts.id } : {}), progress });
      let failed = 0;
      try {
        await runLabChecks(up, (r) => {
          if (!r.ok) failed++;
          process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${r.name}: ${r.evidence}\n`);
        });
      } finally {
        up.down({ keepLogs: failed > 0 });
      }
      if (failed > 0) {
        throw new DsrlbError('ERR_LAB_TEST', `${failed} lab check${failed === 1 ? '' : 's'} failed`, { remedy: `agent logs are kept in ${up.topo.workDir}/logs` });
      }
    });

  lab.command('bench')
    .description('SNAT vs DSR through a capped node-a link, then DSR with 1, 2, 3 backend nodes (JSON or a table)')
    .option('--cap-mbit <n>', 'node-a link capacity', integer('cap-mbit', 1, 100_000), 100)
    .option('--backend-cap-mbit <n>', 'each backend node\'s link in the scaling runs (0: uncapped)', integer('backend-cap-mbit', 0, 100_000), 500)
    .option('--seconds <n>', 'length of each run', integer('seconds', 1, 120), 8)
    .option('--id <id>', 'lab id (default random)', labId)
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { capMbit: number; backendCapMbit: number; seconds: number; id?: string; output: string }) => {
      const format = parseFormat(opts.output);
      requireRootForLab();
      exitOnSignals();
      const r = await runBench({
        capMbit: opts.capMbit, backendCapMbit: opts.backendCapMbit, seconds: opts.seconds, ...(opts.id ? { id: opts.id } : {}), progress,
      });
      if (format === 'json') {
        printJson(r);
        return;
      }
      printTable(BENCH_HEAD, benchRows(r));
      process.stdout.write(`\nnode-a's link capped at ${r.setup.nodeACapMbit} Mbit/s: DSR moved ${r.dsrOverSnat}x what SNAT did.\n`
        + `machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), kernel ${r.machine.kernel}, Node.js ${r.machine.node}\n`);
    });

  lab.command('demo')
    .description('bring a lab up, show DSR at work on screen, tear down (what `make demo` runs)')
    .option('--cap-mbit <n>', 'node-a link capacity in the SNAT-vs-DSR part', integer('cap-mbit', 1, 100_000), 100)
    .option('--seconds <n>', 'length of each iperf3 run', integer('seconds', 1, 60), 5)
    .action(async (opts: { capMbit: number; seconds: number }) => {
      requireRootForLab();
      exitOnSignals();
      await runDemo({
        capMbit: opts.capMbit, seconds: opts.seconds,
        say: (text) => process.stdout.write(`${text}\n`),
        table: (head, rows) => printTable(head.map((h, i) => (i === 0 ? `   ${h}` : h)), rows.map((r) => r.map((c, i) => (i === 0 ? `   ${c}` : c)))),
      });
    });
}
