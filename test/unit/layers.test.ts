/**
 * The folders of src/ follow the data flow and no import points back up:
 * sources (k8s) -> api <- plan, plan -> reconcile -> bpf, with net (the one
 * IP parser) and model (the keys plan and reconcile share, and who says the
 * next sync is full) at the bottom and packet (the tests' independent oracle) on its
 * own. Every import statement of every file is read (TypeScript's own
 * pre-processor, so multi-line, type-only, re-exports and dynamic imports all
 * count) and checked against the table below.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import ts from 'typescript';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/** Folder (or top-level file) of src/ -> what it may import besides itself. */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  'errors.ts': [],
  net: [],
  model: [],
  packet: [],
  api: ['net'],
  bpf: ['model', 'net', 'errors.ts'],
  k8s: ['api', 'net', 'errors.ts'],
  plan: ['model', 'api', 'net', 'errors.ts'],
  reconcile: ['model', 'plan', 'bpf', 'api', 'net', 'errors.ts'],
  agent: ['model', 'k8s', 'reconcile', 'plan', 'bpf', 'api', 'net', 'errors.ts'],
  lab: ['model', 'agent', 'k8s', 'reconcile', 'plan', 'bpf', 'api', 'net', 'packet', 'errors.ts'],
  cli: ['model', 'lab', 'agent', 'k8s', 'reconcile', 'plan', 'bpf', 'api', 'net', 'packet', 'errors.ts'],
};

/** Imports that break the table and are waiting to be removed, each with why (none now). */
const PENDING: readonly string[] = [];

/** Layers that must stay pure: no Node.js built-in module (no I/O, no processes). */
const PURE = ['net', 'model', 'api', 'plan', 'packet'];

interface Edge { readonly from: string; readonly to: string; readonly spec: string }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

/** The module specifiers a file's text imports. */
function specifiersOf(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);
}

/** Every import of every file under src/, relative ones resolved to a path under src/. */
function readImports(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split(sep).join('/');
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      const to = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).split(sep).join('/').replace(/\.js$/, '.ts') : spec;
      edges.push({ from, to, spec });
    }
  }
  return edges;
}

const EDGES = readImports();
const layerOf = (path: string): string => path.split('/')[0] ?? path;
const isLocal = (e: Edge): boolean => e.spec.startsWith('.');
const show = (e: Edge): string => `${e.from} -> ${e.to}`;

test('every folder of src/ has a place in the layer table', (t) => {
  const layers = new Set(sourceFiles(SRC).map((f) => layerOf(relative(SRC, f).split(sep).join('/'))));
  t.deepEqual([...layers].filter((l) => !(l in MAY_IMPORT)), [], 'add the new folder to MAY_IMPORT, below what it may import');
  t.true(layers.has('api') && layers.has('net'));
});

test('the layer table itself has no cycle', (t) => {
  const done = new Set<string>();
  const visiting: string[] = [];
  const visit = (layer: string): void => {
    if (done.has(layer)) return;
    t.false(visiting.includes(layer), `cycle: ${[...visiting, layer].join(' -> ')}`);
    if (visiting.includes(layer)) return;
    visiting.push(layer);
    for (const next of MAY_IMPORT[layer] ?? []) visit(next);
    visiting.pop();
    done.add(layer);
  };
  for (const layer of Object.keys(MAY_IMPORT)) visit(layer);
});

test('the reader finds imports of every form', (t) => {
  const text = [
    "import {\n  a,\n  b,\n} from './multi-line.js';",
    "import type { T } from '../type-only.js';",
    "export { c } from './re-export.js';",
    "export * from './star.js';",
    "const m = await import('./dynamic.js');",
    "import './side-effect.js';",
    "// import { x } from './commented-out.js';",
    "const s = \"from './in-a-string.js'\";",
  ].join('\n');
  t.deepEqual(specifiersOf(text).sort(), ['../type-only.js', './dynamic.js', './multi-line.js', './re-export.js', './side-effect.js', './star.js']);
  t.true(EDGES.length > 300, `only ${EDGES.length} imports found under src/`);
});

test('neither src/k8s nor src/plan imports the other', (t) => {
  const crossing = EDGES.filter((e) => isLocal(e)
    && ((layerOf(e.from) === 'k8s' && layerOf(e.to) === 'plan') || (layerOf(e.from) === 'plan' && layerOf(e.to) === 'k8s')))
    .map(show);
  t.deepEqual(crossing.filter((e) => !PENDING.includes(e)), [], 'shared types and defaulting belong in src/api, IP parsing in src/net');
});

test('every import between folders follows the layer table', (t) => {
  const wrong = EDGES.filter((e) => {
    if (!isLocal(e)) return false;
    const [a, b] = [layerOf(e.from), layerOf(e.to)];
    return a !== b && !(MAY_IMPORT[a] ?? []).includes(b);
  }).map(show);
  t.deepEqual(wrong.filter((e) => !PENDING.includes(e)), [], 'an import points back up the data flow: move the shared part down a layer');
});

test('the pending exceptions still exist (delete each once it is fixed)', (t) => {
  const all = new Set(EDGES.map(show));
  t.deepEqual(PENDING.filter((e) => !all.has(e)), [], 'gone: remove them from PENDING');
});

test('the pure layers use no Node.js built-in module', (t) => {
  const impure = EDGES.filter((e) => PURE.includes(layerOf(e.from)) && (e.spec.startsWith('node:') || builtinModules.includes(e.spec))).map(show);
  t.deepEqual(impure, [], 'I/O belongs in the sources, the reconciler or the agent');
});
