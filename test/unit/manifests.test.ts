/**
 * The manifests parser: several documents per file, Lists, JSON; errors as
 * values with file, document index and reason; the valid rest still counts.
 */
import test from 'ava';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DsrlbError } from '../../src/errors.js';
import {
  formatManifestError, listManifestFiles, loadManifestDir, parseManifestText, parseManifests, type ManifestParseResult,
} from '../../src/k8s/manifests.js';

const SVC = (name: string, extra = '') => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  clusterIP: 10.96.0.10
  ports:
    - port: 80${extra}
`;

/** Objects as "Kind key @doc[.item]". */
function located(r: ManifestParseResult): string[] {
  return r.objects.map((o) => `${o.kind} ${o.key} @${o.documentIndex}${o.itemIndex !== undefined ? `.${o.itemIndex}` : ''}`);
}

test('several YAML documents: each object with its 0-based document index; empty documents are skipped but counted', (t) => {
  const text = `${SVC('a')}---\n---\n# only a comment\n---\n${SVC('b')}`;
  const r = parseManifestText(text, 'svc.yaml');
  t.deepEqual(located(r), ['Service default/a @0', 'Service default/b @3']);
  t.deepEqual(r.errors, []);
});

test('kind: List and typed lists (items without kind) are expanded with item indexes', (t) => {
  const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: { name: a }
    spec: { clusterIP: 10.96.0.1, ports: [{ port: 80 }] }
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: settings }
---
apiVersion: v1
kind: ServiceList
items:
  - metadata: { name: b, namespace: shop }
    spec: { clusterIP: 10.96.0.2, ports: [{ port: 80 }] }
`;
  const r = parseManifestText(text, 'list.yaml');
  t.deepEqual(located(r), ['Service default/a @0.0', 'Service shop/b @1.0']);
  t.deepEqual(r.notices.map((n) => [n.documentIndex, n.itemIndex, n.message]), [
    [0, 1, 'ConfigMap settings: not used by dsrlb (only Service, EndpointSlice, Node)'],
  ]);
});

test('a .json file is one document: an object or a List', (t) => {
  const r = parseManifestText(JSON.stringify({
    apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } }],
  }), 'nodes.json');
  t.deepEqual(located(r), ['Node node-a @0.0']);
});

test('a YAML syntax error costs only its own document', (t) => {
  const r = parseManifestText(`${SVC('a')}---\nkind: Service\nmetadata: { name: x\n---\n${SVC('c')}`, 'svc.yaml');
  t.deepEqual(located(r), ['Service default/a @0', 'Service default/c @2']);
  t.is(r.errors.length, 1);
  // Line numbers (1-based, yaml 2's) count from the top of the file, not the document.
  t.like(r.errors[0], { file: 'svc.yaml', documentIndex: 1, kind: null, key: null, line: 12, column: 1 });
  t.regex(r.errors[0]?.reason ?? '', /^not valid YAML: Flow map in block collection must be sufficiently indented and end with a }$/);
  t.is(formatManifestError(r.errors[0]!), `svc.yaml:12:1: document 1: ${r.errors[0]?.reason}`);
});

test('broken JSON, a scalar document and a missing kind are errors with their location', (t) => {
  t.like(parseManifestText('{"kind": ', 'x.json').errors[0], { file: 'x.json', documentIndex: 0 });
  t.regex(parseManifestText('{"kind": ', 'x.json').errors[0]?.reason ?? '', /^not valid JSON/);
  const r = parseManifestText('just a string\n---\nmetadata: { name: a }\n', 'odd.yaml');
  t.deepEqual(r.errors.map((e) => [e.documentIndex, e.reason]), [[0, '\'just a string\' is not a Kubernetes object'], [1, 'kind is missing']]);
});

test('an invalid object is reported with kind, key and reason; its neighbours still count', (t) => {
  const r = parseManifestText(`${SVC('a')}---\n${SVC('bad', '\n      protocol: ICMP')}---\n${SVC('c')}`, 'svc.yaml');
  t.deepEqual(located(r), ['Service default/a @0', 'Service default/c @2']);
  t.deepEqual(r.errors, [{
    file: 'svc.yaml', documentIndex: 1, line: 10, column: 1, kind: 'Service', key: 'default/bad',
    reason: 'Service default/bad: spec.ports[0].protocol: \'ICMP\' is not one of TCP, UDP, SCTP',
  }]);
  t.is(formatManifestError(r.errors[0]!), 'svc.yaml:10:1: document 1: Service default/bad: spec.ports[0].protocol: \'ICMP\' is not one of TCP, UDP, SCTP');
});

test('an unsupported apiVersion is an error naming the one to use', (t) => {
  const r = parseManifestText('apiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: { name: s }\naddressType: IPv4\n', 's.yaml');
  t.deepEqual(r.errors.map((e) => [e.key, e.reason]), [
    ['default/s', 'EndpointSlice default/s: apiVersion \'discovery.k8s.io/v1beta1\' is not supported (use discovery.k8s.io/v1)'],
  ]);
});

test('valid objects that will surprise: notes, not errors', (t) => {
  const r = parseManifestText(`apiVersion: v1
kind: Service
metadata: { name: no-ip }
spec: { ports: [{ port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: np }
spec: { type: NodePort, clusterIP: 10.96.0.9, ports: [{ port: 80 }] }
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: orphan }
addressType: IPv4
endpoints: []
`, 'n.yaml');
  t.deepEqual(r.errors, []);
  t.deepEqual(r.notices.map((n) => n.message), [
    'Service default/no-ip: no spec.clusterIP, so it is not proxied (there is no API server here to allocate one)',
    'Service default/np: a port without spec.ports[].nodePort gets no NodePort frontend',
    'EndpointSlice default/orphan: no kubernetes.io/service-name label, so it belongs to no Service',
  ]);
  t.is(r.objects.length, 3);
});

test('an object defined twice keeps its first definition; the second is an error', (t) => {
  const set = parseManifests([{ file: 'a.yaml', text: SVC('web') }, { file: 'b.yaml', text: SVC('web', '\n      name: other') }]);
  t.deepEqual(set.errors.map(formatManifestError), [
    'b.yaml:1:1: document 0: Service default/web: defined twice; the definition in a.yaml:1:1: document 0 is used',
  ]);
  t.is(set.state.services.get('default/web')?.spec?.ports?.[0]?.name, undefined);
});

test('the state holds defaulted objects keyed namespace/name (Nodes by name)', (t) => {
  const set = parseManifests([{ file: 'a.yaml', text: `${SVC('web')}---\napiVersion: v1\nkind: Node\nmetadata: { name: node-a }\n` }]);
  t.deepEqual([...set.state.services.keys()], ['default/web']);
  t.deepEqual([...set.state.nodes.keys()], ['node-a']);
  t.like(set.state.services.get('default/web')?.spec, { type: 'ClusterIP', sessionAffinity: 'None', ipFamilies: ['IPv4'] });
  t.deepEqual(set.state.services.get('default/web')?.spec?.ports, [{ port: 80, protocol: 'TCP', targetPort: 80 }]);
});

test('loadManifestDir reads *.yaml, *.yml and *.json sorted by name, not subdirectories or other files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dsrlb-manifests-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'b.yml'), SVC('b'));
  await writeFile(join(dir, 'a.yaml'), SVC('a'));
  await writeFile(join(dir, 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } }));
  await writeFile(join(dir, 'notes.txt'), 'not yaml: [');
  await writeFile(join(dir, '.hidden.yaml'), 'not yaml: [');
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'd.yaml'), SVC('d'));
  t.deepEqual(await listManifestFiles(dir), ['a.yaml', 'b.yml', 'c.json'].map((f) => join(dir, f)));
  const set = await loadManifestDir(dir);
  t.deepEqual(set.errors, []);
  t.deepEqual(set.objects.map((o) => `${o.kind} ${o.key} ${o.file.slice(dir.length + 1)}`), [
    'Service default/a a.yaml', 'Service default/b b.yml', 'Node n c.json',
  ]);
});

test('a missing directory is one DsrlbError that says what to pass', async (t) => {
  const err = await t.throwsAsync(loadManifestDir('/nonexistent/dsrlb'), { instanceOf: DsrlbError });
  t.is(err?.code, 'ERR_MANIFESTS_DIR');
  t.is(err?.toLine(), '/nonexistent/dsrlb: no such directory (pass --manifests DIR, a directory of YAML/JSON manifests)');
});
