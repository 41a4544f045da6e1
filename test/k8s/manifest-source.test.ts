/** The manifests source: a directory of YAML/JSON, watched (fs.watch + re-scan). */
import { mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ManifestSource, type ManifestSourceOptions } from '../../src/k8s/manifest-source.js';
import type { SourceError } from '../../src/k8s/source.js';
import { until } from './helpers.js';
import { record, type Recording } from './recorder.js';

interface Harness extends Recording {
  readonly dir: string;
  readonly source: ManifestSource;
}

const svcYaml = (name: string, ip: string, port = 80): string => `apiVersion: v1
kind: Service
metadata: {namespace: shop, name: ${name}}
spec:
  clusterIP: ${ip}
  ports: [{name: http, port: ${port}, targetPort: 8080}]
`;

const sliceYaml = (name: string, service: string, ip: string): string => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {namespace: shop, name: ${name}, labels: {kubernetes.io/service-name: ${service}}}
addressType: IPv4
endpoints: [{addresses: ["${ip}"], conditions: {ready: true}, nodeName: node-a}]
ports: [{name: http, port: 8080}]
`;

const nodesJson = (...names: string[]): string => JSON.stringify({
  apiVersion: 'v1', kind: 'List',
  items: names.map((n, i) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n }, status: { addresses: [{ type: 'InternalIP', address: `198.51.100.${i + 1}` }] } })),
});

async function harness(t: ExecutionContext, files: Record<string, string>, options: Partial<ManifestSourceOptions> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'dsrlb-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const source = new ManifestSource({ dir, throttleMs: 0, settleMs: 10, rescanMs: 60_000, removeGraceMs: 50, ...options });
  return { dir, source, ...(await record(t, source)) };
}

const base = {
  'web.yaml': `${svcYaml('web', '10.96.0.10')}---\n${sliceYaml('web-1', 'web', '10.244.1.5')}`,
  'nodes.json': nodesJson('node-a', 'node-b'),
};

test('the first state holds every valid object of the directory, defaulted', async (t) => {
  const h = await harness(t, { ...base, 'README.md': 'not a manifest', '.hidden.yaml': svcYaml('hidden', '10.96.0.99') });
  t.is(h.changes[0]?.reason, 'initial');
  t.deepEqual([...h.latest().services.keys()], ['shop/web']);
  t.deepEqual([...h.latest().endpointSlices.keys()], ['shop/web-1']);
  t.deepEqual([...h.latest().nodes.keys()].sort(), ['node-a', 'node-b']);
  t.is(h.latest().services.get('shop/web')?.spec?.ports?.[0]?.protocol, 'TCP', 'API defaulting applied');
  t.deepEqual(h.errors, []);
  const status = h.source.status();
  t.like(status, { synced: true, failing: [] });
  t.true(Math.abs((status.lastCompleteReadAt ?? 0) - Date.now()) < 60_000, 'when the directory was last read completely');
});

test('creating, editing and deleting files follows through (fs.watch)', async (t) => {
  const h = await harness(t, base);
  await writeFile(join(h.dir, 'api.yaml'), `${svcYaml('api', '10.96.0.20')}---\n${sliceYaml('api-1', 'api', '10.244.2.5')}`);
  await until(t, () => h.latest().services.has('shop/api') && h.latest().endpointSlices.has('shop/api-1'), 'the new file');

  // Editing one object of a file changes only that object.
  await writeFile(join(h.dir, 'api.yaml'), `${svcYaml('api', '10.96.0.20')}---\n${sliceYaml('api-1', 'api', '10.244.2.6')}`);
  await until(t, () => h.latest().endpointSlices.get('shop/api-1')?.endpoints[0]?.addresses[0] === '10.244.2.6', 'the edit');
  const edit = h.changes.at(-1);
  t.deepEqual([...(edit?.changed.endpointSlices ?? [])], ['shop/api-1']);
  t.is(edit?.changed.services.size, 0);

  await unlink(join(h.dir, 'api.yaml'));
  await until(t, () => !h.latest().services.has('shop/api') && !h.latest().endpointSlices.has('shop/api-1'), 'the deletion');
  t.true(h.latest().services.has('shop/web'));
  t.deepEqual(h.errors, []);
});

test('a file replaced by rename (atomic save) is picked up', async (t) => {
  const h = await harness(t, base);
  const tmp = join(h.dir, '.web.yaml.tmp');
  await writeFile(tmp, `${svcYaml('web', '10.96.0.10', 8443)}---\n${sliceYaml('web-1', 'web', '10.244.1.5')}`);
  await rename(tmp, join(h.dir, 'web.yaml'));
  await until(t, () => h.latest().services.get('shop/web')?.spec?.ports?.[0]?.port === 8443, 'the replaced file');
});

test('a ConfigMap-style volume (files behind a `..data` symlink swapped atomically) is followed', async (t) => {
  const h = await harness(t, {});
  await mkdir(join(h.dir, '..v1'));
  await writeFile(join(h.dir, '..v1', 'web.yaml'), svcYaml('web', '10.96.0.10'));
  await symlink('..v1', join(h.dir, '..data'));
  await symlink('..data/web.yaml', join(h.dir, 'web.yaml'));
  await until(t, () => h.latest().services.get('shop/web')?.spec?.clusterIP === '10.96.0.10', 'the first version');

  // The kubelet's update: a new directory, a new symlink renamed over ..data; web.yaml itself never changes.
  await mkdir(join(h.dir, '..v2'));
  await writeFile(join(h.dir, '..v2', 'web.yaml'), svcYaml('web', '10.96.0.11'));
  await symlink('..v2', join(h.dir, '..data_tmp'));
  await rename(join(h.dir, '..data_tmp'), join(h.dir, '..data'));
  await until(t, () => h.latest().services.get('shop/web')?.spec?.clusterIP === '10.96.0.11', 'the second version');
  t.deepEqual(h.errors, []);
});

test('an invalid object is reported with file, document index and reason; its last good version stays; the rest applies', async (t) => {
  const h = await harness(t, base);
  const broken = svcYaml('web', '10.96.0.10').replace('port: 80,', 'port: eighty,');
  await writeFile(join(h.dir, 'web.yaml'), `${broken}---\n${sliceYaml('web-1', 'web', '10.244.1.7')}`);
  await until(t, () => h.latest().endpointSlices.get('shop/web-1')?.endpoints[0]?.addresses[0] === '10.244.1.7', 'the valid document applied');
  t.is(h.latest().services.get('shop/web')?.spec?.ports?.[0]?.port, 80, 'last good version kept');
  t.is(h.errors.length, 1);
  const e = h.errors[0];
  t.is(e?.code, 'ERR_MANIFEST_INVALID');
  t.is(e?.kind, 'invalid_object');
  t.is(e?.context.file, join(h.dir, 'web.yaml'));
  t.is(e?.context.documentIndex, 0);
  t.regex(e?.message ?? '', /web\.yaml: document 0: Service shop\/web: spec\.ports\[0\]\.port: 'eighty' is not a port number.*keeping its last good version/);
  t.deepEqual(h.source.status().failing, [join(h.dir, 'web.yaml')]);

  await writeFile(join(h.dir, 'web.yaml'), `${svcYaml('web', '10.96.0.10', 81)}---\n${sliceYaml('web-1', 'web', '10.244.1.7')}`);
  await until(t, () => h.latest().services.get('shop/web')?.spec?.ports?.[0]?.port === 81, 'the fixed version');
  t.deepEqual(h.source.status().failing, []);
});

test('a document that does not parse is reported with file and index; the file\'s other objects keep their last good versions', async (t) => {
  const h = await harness(t, {
    ...base,
    'more.yaml': `${svcYaml('a', '10.96.0.30')}---\n${svcYaml('b', '10.96.0.31')}`,
  });
  // Document 0 changes validly, document 1 is broken YAML (b can no longer be named).
  await writeFile(join(h.dir, 'more.yaml'), `${svcYaml('a', '10.96.0.30', 8080)}---\nkind: Service\nmetadata: {name: b\n  spec: [\n`);
  await until(t, () => h.latest().services.get('shop/a')?.spec?.ports?.[0]?.port === 8080, 'document 0 applied');
  t.true(h.latest().services.has('shop/b'), 'b kept while its document does not parse');
  const e = h.errors[0];
  t.is(e?.code, 'ERR_MANIFEST_PARSE');
  t.is(e?.kind, 'parse');
  t.is(e?.context.file, join(h.dir, 'more.yaml'));
  t.is(e?.context.documentIndex, 1);
  t.regex(e?.message ?? '', /more\.yaml: document 1: not valid YAML/);

  // Fixed, and b really removed from the file: now it goes.
  await writeFile(join(h.dir, 'more.yaml'), svcYaml('a', '10.96.0.30', 8080));
  await until(t, () => !h.latest().services.has('shop/b'), 'b withdrawn once the file parses');
  t.true(h.latest().services.has('shop/a'));
});

test('a JSON file that does not parse keeps all its last good objects', async (t) => {
  const h = await harness(t, base);
  await writeFile(join(h.dir, 'nodes.json'), '{"kind": "List", "items": [');
  await until(t, () => h.errors.length === 1, 'the parse error');
  t.is(h.errors[0]?.context.documentIndex, 0);
  t.is(h.latest().nodes.size, 2);
  await writeFile(join(h.dir, 'nodes.json'), nodesJson('node-a'));
  await until(t, () => h.latest().nodes.size === 1, 'the fixed file');
});

test('an object defined in two files: the first file by name wins, the other is reported', async (t) => {
  const h = await harness(t, base);
  await writeFile(join(h.dir, 'z-dup.yaml'), svcYaml('web', '10.96.0.77'));
  await until(t, () => h.errors.length === 1, 'the duplicate reported');
  t.regex(h.errors[0]?.message ?? '', /z-dup\.yaml: document 0: Service shop\/web: defined twice; the definition in .*web\.yaml is used/);
  t.is(h.latest().services.get('shop/web')?.spec?.clusterIP, '10.96.0.10');
  // The winner goes: the other definition takes over.
  await unlink(join(h.dir, 'web.yaml'));
  await until(t, () => h.latest().services.get('shop/web')?.spec?.clusterIP === '10.96.0.77', 'the other definition');
});

test('without fs.watch, the periodic re-scan notices new, edited and deleted files', async (t) => {
  const h = await harness(t, base, { watch: false, rescanMs: 100 });
  await writeFile(join(h.dir, 'api.yaml'), svcYaml('api', '10.96.0.20'));
  await until(t, () => h.latest().services.has('shop/api'), 'the new file');
  await writeFile(join(h.dir, 'api.yaml'), svcYaml('api', '10.96.0.21'));
  await until(t, () => h.latest().services.get('shop/api')?.spec?.clusterIP === '10.96.0.21', 'the edit');
  await unlink(join(h.dir, 'api.yaml'));
  await until(t, () => !h.latest().services.has('shop/api'), 'the deletion');
});

test('a file briefly missing (deleted and rewritten) never withdraws its objects', async (t) => {
  const h = await harness(t, base, { removeGraceMs: 1000 });
  const before = h.states.length;
  const text = `${svcYaml('web', '10.96.0.10', 8081)}---\n${sliceYaml('web-1', 'web', '10.244.1.5')}`;
  await unlink(join(h.dir, 'web.yaml'));
  await writeFile(join(h.dir, 'web.yaml'), text);
  await until(t, () => h.latest().services.get('shop/web')?.spec?.ports?.[0]?.port === 8081, 'the rewritten file');
  for (const s of h.states.slice(before)) t.true(s.services.has('shop/web'));
});

test('the directory going away keeps the last state; when it is back, the source converges', async (t) => {
  const h = await harness(t, base, { rescanMs: 100 });
  const before = h.states.length;
  await rm(h.dir, { recursive: true, force: true });
  await until(t, () => h.errors.some((e) => e.code === 'ERR_MANIFESTS_DIR'), 'the directory error');
  t.true(h.states.slice(before).every((s) => s.services.has('shop/web') && s.nodes.size === 2), 'nothing withdrawn');
  t.true(h.source.status().failing.includes(h.dir));

  await mkdir(h.dir);
  await writeFile(join(h.dir, 'web.yaml'), svcYaml('web', '10.96.0.11'));
  await until(t, () => h.latest().services.get('shop/web')?.spec?.clusterIP === '10.96.0.11' && h.latest().nodes.size === 0, 'convergence');
  t.deepEqual(h.source.status().failing, []);
  // The new directory is watched again: a change shows up through fs.watch, before the next re-scan could matter.
  await writeFile(join(h.dir, 'api.yaml'), svcYaml('api', '10.96.0.20'));
  await until(t, () => h.latest().services.has('shop/api'), 'a change in the new directory');
});

test('a missing directory at start: not synced, reported, and synced once it appears', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'dsrlb-manifests-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const dir = join(parent, 'later');
  const source = new ManifestSource({ dir, throttleMs: 0, rescanMs: 50 });
  const errors: SourceError[] = [];
  source.onError((e) => errors.push(e));
  let handedOver = 0;
  source.start(() => { handedOver++; });
  t.teardown(() => source.stop());
  await until(t, () => errors.length === 1, 'the error');
  t.is(errors[0]?.code, 'ERR_MANIFESTS_DIR');
  t.is(handedOver, 0);
  t.false(source.status().synced);
  await mkdir(dir);
  await writeFile(join(dir, 'web.yaml'), svcYaml('web', '10.96.0.10'));
  await source.whenSynced(15_000);
  t.is(handedOver, 1);
  t.is(errors.length, 1, 'reported once, not at every re-scan');
});
