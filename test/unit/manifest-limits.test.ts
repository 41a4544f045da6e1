/** Bounded manifest parsing: size and object limits refuse a file whole; parsing yields to the event loop. */
import test from 'ava';
import { DEFAULT_MANIFEST_LIMITS, parseManifestBounded, tooLarge } from '../../src/k8s/manifest-limits.js';
import { parseManifestText } from '../../src/k8s/manifests.js';

const svc = (i: number): string => `apiVersion: v1\nkind: Service\nmetadata: { name: s${i}, namespace: ns }\nspec: { clusterIP: 10.96.${i >> 8}.${i & 255}, ports: [{ port: 80 }] }\n`;
const limits = { maxFileBytes: 1 << 20, maxObjects: 100 };

test('a file within the limits parses exactly like the unbounded parser', async (t) => {
  const text = [svc(1), svc(2), 'kind: Service\nmetadata: {name: x\n', svc(3)].join('---\n');
  const r = await parseManifestBounded(text, '/m/a.yaml', limits);
  if (!r.ok) return t.fail(r.reason);
  const plain = parseManifestText(text, '/m/a.yaml');
  t.deepEqual(r.result.objects, plain.objects);
  t.is(r.result.errors.length, 1);
  t.is(r.result.errors[0]?.documentIndex, 2);
  t.regex(r.result.errors[0]?.reason ?? '', /^not valid YAML: /);
  t.like(r.result.errors[0], { line: 13, column: 1 }); // where yaml 2 finds the flow map unclosed: the next document's marker
});

test('over the object limit the file is refused, counting a List\'s items', async (t) => {
  const docs = Array.from({ length: 101 }, (_, i) => svc(i)).join('---\n');
  const many = await parseManifestBounded(docs, '/m/many.yaml', limits);
  t.deepEqual(many, { ok: false, reason: 'more than --manifests-max-objects 100 objects (101 so far): the file is refused' });
  const items = Array.from({ length: 150 }, (_, i) => `- { kind: Service, apiVersion: v1, metadata: { name: s${i}, namespace: ns } }`).join('\n');
  const list = await parseManifestBounded(`apiVersion: v1\nkind: List\nitems:\n${items}\n`, '/m/list.yaml', limits);
  t.false(list.ok);
  t.regex(list.ok ? '' : list.reason, /\(150 so far\)/);
  const json = await parseManifestBounded(JSON.stringify({ kind: 'List', items: Array.from({ length: 101 }, () => ({})) }), '/m/l.json', limits);
  t.false(json.ok);
});

test('over the size limit nothing is parsed', async (t) => {
  t.is(tooLarge(100, { maxFileBytes: 100, maxObjects: 1 }), undefined);
  t.is(tooLarge(101, { maxFileBytes: 100, maxObjects: 1 }), '101 bytes is more than --manifests-max-file-bytes 100: the file is not read');
  const r = await parseManifestBounded(`${svc(1)}# ${'é'.repeat(60)}\n`, '/m/a.yaml', { maxFileBytes: 150, maxObjects: 10 });
  t.false(r.ok, 'bytes, not characters');
  t.true(DEFAULT_MANIFEST_LIMITS.maxFileBytes >= 1 << 20 && DEFAULT_MANIFEST_LIMITS.maxObjects >= 1000);
});

test('a big file yields to the event loop while it parses', async (t) => {
  const text = Array.from({ length: 2000 }, (_, i) => svc(i)).join('---\n');
  let ticks = 0;
  const timer = setInterval(() => { ticks++; }, 0);
  const r = await parseManifestBounded(text, '/m/big.yaml', { maxFileBytes: 1 << 24, maxObjects: 5000 });
  clearInterval(timer);
  t.true(r.ok);
  t.true(ticks > 0, 'timers ran during the parse');
});
