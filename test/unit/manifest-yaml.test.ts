/**
 * The manifest reader's YAML layer (src/k8s/manifest-yaml.ts): documents cut
 * at their markers exactly as yaml 2 counts them, the same values yaml 2
 * reads, 1-based lines and columns of every object (a List's items too), and
 * yaml 2's own message and position for a document that does not parse.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { jsonDocument, splitDocuments, yamlDocuments, type ParsedDocument } from '../../src/k8s/manifest-yaml.js';
import { kubectlDump } from '../../bench/lib/kubectl-yaml.js';

const STREAMS = [
  '', 'a: 1\n', '---\na: 1\n', '# c\n---\na: 1\n', 'a: 1\n---\n', 'a: 1\n---\n---\nb: 2\n', 'a: 1\n...\n---\nb: 2\n',
  'a: 1\n...\nb: 2\n', '%YAML 1.2\n---\na: 1\n', '--- {a: 1}\n--- {b: 2}', '# only a comment\n', 'a: |\n  x\n---\nb: 1\n',
  '---\n# c\n', 'a: 1\n# trailing\n', 'a: 1\r\n---\r\nb: 2\r\n', 'a: "---"\n---x: 1\n',
];

test('documents are counted as yaml 2 counts them (markers, comments, directives, empty documents)', (t) => {
  for (const text of STREAMS) t.is(splitDocuments(text).length, parseAllDocuments(text).length, JSON.stringify(text));
});

function values(docs: Iterable<ParsedDocument>): unknown[] {
  return [...docs].map((d) => (d.ok ? d.value ?? null : `error: ${d.reason}`));
}

test('values are yaml 2\'s (core schema: timestamps, yes/no and 012 stay what YAML 1.2 says)', async (t) => {
  const scalars = 'a: 2026-11-02T09:14:07Z\nb: yes\nc: 012\nd: 0o17\ne: 0x1F\nf: ~\ng: 1e3\nh: .inf\ni: "010.001.002.003"\nj: 010.001.002.003\nk: [1, {x: y}]\nl: |\n  text\n';
  const fixtures = fileURLToPath(new URL('../fixtures/plan-basic/manifests/', import.meta.url));
  const texts = [scalars, ...STREAMS.filter((s) => !s.includes('---x')), await readFile(`${fixtures}00-services.yaml`, 'utf8'),
    await readFile(`${fixtures}10-slices.yaml`, 'utf8'), kubectlDump({ services: 30, endpointsPerService: 2, nodes: 3 })];
  for (const text of texts) {
    const theirs = parseAllDocuments(text).map((d) => (d.errors.length ? 'error' : d.toJS() ?? null));
    t.deepEqual(values(yamlDocuments(text)).map((v) => (typeof v === 'string' && v.startsWith('error: ') ? 'error' : v)), theirs, text.slice(0, 40));
  }
});

test('every object knows its 1-based line and column: a document, and each item of a List', (t) => {
  const text = `# a comment
apiVersion: v1
kind: List
items:
- kind: Service
  metadata: { name: a }
-
  kind: Service
  metadata: { name: b }
- {kind: Node, metadata: {name: n}}
---

  kind: Service
`;
  const [list, single] = [...yamlDocuments(text)];
  if (!list?.ok || !single?.ok) return t.fail('both documents parse');
  t.deepEqual(list.positionOf(undefined, false), { line: 2, column: 1 });
  t.deepEqual([0, 1, 2].map((i) => list.positionOf(i, false)), [{ line: 5, column: 3 }, { line: 8, column: 3 }, { line: 10, column: 3 }]);
  t.is(list.positionOf(3, false), undefined, 'no such item');
  t.deepEqual(single.positionOf(undefined, false), { line: 13, column: 3 });
});

test('a document js-yaml refuses gets yaml 2\'s message and position, counted from the top of the file', (t) => {
  const docs = [...yamlDocuments('a: 1\n---\nkind: Service\nmetadata: { name: x\n---\nb: 2\n')];
  t.deepEqual(docs.map((d) => d.ok), [true, false, true]);
  const bad = docs[1];
  if (!bad || bad.ok) return;
  t.is(bad.reason, 'not valid YAML: Flow map in block collection must be sufficiently indented and end with a }');
  t.deepEqual(bad.position, { line: 5, column: 1 });
  const dup = [...yamlDocuments('a: 1\na: 2\n')][0];
  t.like(dup, { ok: false, position: { line: 2, column: 1 } });
});

test('JSON: JSON.parse for the value; lines only when asked for, and a syntax error\'s position', (t) => {
  const doc = jsonDocument('{\n  "kind": "List",\n  "items": [\n    {"kind": "Node"},\n    {"kind": "Service"}\n  ]\n}\n');
  if (!doc.ok) return t.fail(doc.reason);
  t.is(doc.positionOf(1, false), undefined, 'not worked out unless required');
  t.deepEqual(doc.positionOf(1, true), { line: 5, column: 5 });
  t.deepEqual(doc.positionOf(0, false), { line: 4, column: 5 }, 'known once worked out');
  t.like(jsonDocument('{\n  "kind": "List",,\n}'), { ok: false, position: { line: 2, column: 18 } });
  const unclosed = jsonDocument('{\n  "kind": "List",\n  "items": [\n}\n');
  t.like(unclosed, { ok: false, position: { line: 4 } });
  if (!unclosed.ok) t.regex(unclosed.reason, /^not valid JSON: [^\n]*$/);
});
