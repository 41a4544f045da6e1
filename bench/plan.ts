/**
 * `lbctl plan` benchmark (issue 13), printed as one JSON object. Not a test:
 * it measures (target: a 5 MB manifest planned in at most 1 s).
 *
 * The manifest is a cluster dump as `kubectl get services,endpointslices,nodes
 * -A -o yaml` writes it (bench/lib/kubectl-yaml.ts): thousands of Services
 * with their EndpointSlices, sized to --mib (default 5). Two layouts: one
 * List document (kubectl's), and the same objects one per document.
 *
 * 1. process: the real command, `node bin/lbctl.js plan --manifests DIR
 *    --node-name node-1 [-o json]`, a fresh process per run as an operator
 *    runs it (startup included), output to /dev/null; wall time, and CPU time
 *    (user + system, the child's as its shell reaped it: /proc/<sh>/stat), which
 *    a loaded machine does not inflate.
 * 2. phases, in this process after a warm-up: read and parse the directory,
 *    plan, format the text table, format the JSON.
 *
 * Run: node build/js/bench/plan.js (scripts/bench.sh) or npx tsx bench/plan.ts
 *   [--mib 5] [--runs 5], from the repository root. Needs `make build` (bin/lbctl.js runs dist/).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { planRows } from '../src/cli/plan-command.js';
import { formatTable } from '../src/cli/table.js';
import { loadManifestDir } from '../src/k8s/manifests.js';
import { buildPlanReport, resolvePlanNode } from '../src/plan/index.js';
import { kubectlDump, type DumpShape } from './lib/kubectl-yaml.js';
import { round, summarize } from './lib/stats.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

const TARGET_BYTES = arg('mib', 5) * 1024 * 1024;
const RUNS = arg('runs', 5);
// From the repository root, as scripts/bench.sh runs every benchmark.
const LBCTL = join(process.cwd(), 'bin', 'lbctl.js');
const CLK_TCK = 100; // USER_HZ: the unit of /proc/<pid>/stat times on Linux

/** The smallest dump of at least TARGET_BYTES (sized from a small sample, then grown). */
function sizedShape(): DumpShape {
  const base = { endpointsPerService: 3, nodes: 20 };
  const perService = kubectlDump({ ...base, services: 200 }).length / 200;
  let services = Math.ceil(TARGET_BYTES / perService);
  while (kubectlDump({ ...base, services }).length < TARGET_BYTES) services += 10;
  return { ...base, services };
}

interface RunFigures { wallMs: number; cpuMs: number }

/** One `lbctl plan` process; CPU from its shell's reaped-children times (fields 16, 17 of /proc/<sh>/stat). */
function runProcess(dir: string, output: 'text' | 'json'): RunFigures {
  const script = 'node "$0" plan --manifests "$1" --node-name node-1 -o "$2" >/dev/null 2>&1; cat /proc/$$/stat';
  const start = performance.now();
  const stat = execFileSync('sh', ['-c', script, LBCTL, dir, output], { encoding: 'utf8' });
  const wallMs = performance.now() - start;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime, cstime (fields 16, 17 counted from pid)
  return { wallMs, cpuMs: (ticks * 1000) / CLK_TCK };
}

function processFigures(dir: string, output: 'text' | 'json'): Record<string, unknown> {
  runProcess(dir, output); // the page cache and node's compile cache, as for an operator's second run
  const runs = Array.from({ length: RUNS }, () => runProcess(dir, output));
  return { wallMs: summarize(runs.map((r) => r.wallMs)), cpuMs: summarize(runs.map((r) => r.cpuMs)) };
}

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function timed<T>(f: () => T | Promise<T>): Promise<{ value: T; wallMs: number; cpuMs: number }> {
  const c = cpuNow();
  const w = performance.now();
  const value = await f();
  return { value, wallMs: performance.now() - w, cpuMs: cpuNow() - c };
}

async function phases(dir: string): Promise<Record<string, unknown>> {
  const samples: Record<string, { wallMs: number; cpuMs: number }[]> = { parse: [], plan: [], text: [], json: [] };
  for (let i = 0; i <= RUNS; i++) {
    const parse = await timed(() => loadManifestDir(dir));
    const set = parse.value;
    const plan = await timed(() => buildPlanReport(set.state, resolvePlanNode(set.state, { name: 'node-1' })).plan);
    const text = await timed(() => formatTable(['SERVICE', 'PORT', 'KIND', 'FRONTEND', 'BACKENDS', 'SCOPE', 'OPTIONS'], planRows(plan.value)).length);
    const json = await timed(() => JSON.stringify(plan.value, null, 2).length);
    if (i === 0) continue; // warm-up
    samples['parse']?.push(parse);
    samples['plan']?.push(plan);
    samples['text']?.push(text);
    samples['json']?.push(json);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, {
    wallMsP50: summarize(v.map((x) => x.wallMs)).p50, cpuMsP50: summarize(v.map((x) => x.cpuMs)).p50,
  }]));
}

async function main(): Promise<void> {
  const shape = sizedShape();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const layouts: Record<string, unknown> = {};
  for (const layout of ['list', 'documents'] as const) {
    const dir = mkdtempSync(join(os.tmpdir(), 'dsrlb-bench-plan-'));
    try {
      const text = kubectlDump(shape, layout);
      writeFileSync(join(dir, 'cluster.yaml'), text);
      const set = await loadManifestDir(dir);
      const { plan } = buildPlanReport(set.state, resolvePlanNode(set.state, { name: 'node-1' }));
      layouts[layout] = {
        bytes: Buffer.byteLength(text),
        objects: set.objects.length,
        errors: set.errors.length,
        frontends: plan.frontends.length,
        process: { text: processFigures(dir, 'text'), json: processFigures(dir, 'json') },
        phases: await phases(dir),
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  process.stdout.write(`${JSON.stringify({
    benchmark: 'lbctl plan',
    machine: {
      cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', node: process.version,
      loadAverage: [round(loadAtStart, 2), round(os.loadavg()[0] ?? 0, 2)],
    },
    manifest: { ...shape, endpointSlices: shape.services, targetBytes: TARGET_BYTES },
    runs: RUNS,
    targetMs: 1000,
    layouts,
  }, null, 2)}\n`);
}

await main();
