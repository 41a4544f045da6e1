/**
 * Warnings, never silence (issue 13): every Service or part of one the plan
 * leaves out on purpose is named, and what kube-proxy serves despite the API
 * server's rules (leading zeros, a stray healthCheckNodePort) is served the
 * way kube-proxy serves it, with a warning.
 */
import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadManifestDir, parseManifests } from '../../src/k8s/manifests.js';
import { buildPlanReport, nodeNameWarning, planSkips, resolvePlanNode } from '../../src/plan/index.js';
import { lines } from '../fixtures/plan-builders.js';

const service = (name: string, spec: string, extra = ''): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
${spec}${extra}
---
`;

/** The skips, after the manifest errors (none expected). */
function skipsOf(text: string): string[] {
  const set = parseManifests([{ file: 's.yaml', text }]);
  return [...set.errors.map((e) => `error: ${e.reason}`), ...planSkips(set.state).map((w) => `${w.service}: ${w.message}`)];
}

test('every Service left out on purpose is named, with kube-proxy\'s reason', (t) => {
  const text = [
    service('headless', '  clusterIP: None\n  ports: [{ port: 80 }]\n'),
    service('external-name', '  type: ExternalName\n  externalName: db.example.com\n'),
    `apiVersion: v1\nkind: Service\nmetadata: { name: other-proxy, labels: { service.kubernetes.io/service-proxy-name: foo } }\nspec: { clusterIP: 10.96.0.5, ports: [{ port: 80 }] }\n---\n`,
    `apiVersion: v1\nkind: Service\nmetadata: { name: labelled-headless, labels: { service.kubernetes.io/headless: "" } }\nspec: { clusterIP: 10.96.0.6, ports: [{ port: 80 }] }\n---\n`,
    service('served', '  clusterIP: 10.96.0.7\n  ports: [{ port: 80 }]\n'),
  ].join('');
  t.deepEqual(skipsOf(text), [
    'default/external-name: not proxied: type ExternalName, as by kube-proxy',
    'default/headless: not proxied: headless (clusterIP None), as by kube-proxy',
    'default/labelled-headless: not proxied: labelled service.kubernetes.io/headless, as by kube-proxy',
    'default/other-proxy: not proxied: labelled service.kubernetes.io/service-proxy-name: another proxy serves it, as by kube-proxy',
  ]);
});

test('ingress entries without a frontend (ipMode Proxy, hostname only) and SCTP ports the datapath passes are named', (t) => {
  const text = service('lb', '  type: LoadBalancer\n  clusterIP: 10.96.0.8\n  ports:\n  - { name: a, port: 80, nodePort: 30080 }\n  - { name: b, port: 9899, protocol: SCTP, nodePort: 30081 }\n',
    'status:\n  loadBalancer:\n    ingress:\n    - { ip: 203.0.113.1 }\n    - { ip: 203.0.113.2, ipMode: Proxy }\n    - { hostname: lb.example.com }\n');
  t.deepEqual(skipsOf(text), [
    'default/lb: status.loadBalancer.ingress[1]: 203.0.113.2 has ipMode Proxy: no LoadBalancer frontend (the load balancer itself sends the traffic to the nodes), as by kube-proxy',
    'default/lb: status.loadBalancer.ingress[2]: only a hostname (lb.example.com): no LoadBalancer frontend (kube-proxy serves ingress IPs only)',
    'default/lb: port b 9899/SCTP: planned, but the datapath passes SCTP packets to the node\'s own stack unbalanced (docs/datapath.md, Known limits)',
  ]);
});

test('a --node-name no Node object has is a warning; so is planning without any Node object', (t) => {
  const withNodes = parseManifests([{ file: 'n.yaml', text: 'kind: Node\napiVersion: v1\nmetadata: { name: node-a }\n---\nkind: Node\napiVersion: v1\nmetadata: { name: node-b }\n' }]).state;
  t.is(nodeNameWarning(withNodes, 'node-a'), null);
  t.is(nodeNameWarning(withNodes, 'node-c'), 'no Node object is named node-c (there are 2: node-a, node-b): endpoints on it are not local, and its addresses come from --node-address only');
  t.is(nodeNameWarning(parseManifests([]).state, 'node-a'),
    'no Node objects in the manifests: node node-a\'s addresses (NodePort frontends) come from --node-address only, its zone from --zone');
});

test('subdirectories are named, not read; hidden ones (a ConfigMap mount\'s ..data) are left alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'dsrlb-skips-'));
  try {
    await mkdir(join(dir, 'staging'));
    await writeFile(join(dir, 'staging', 'svc.yaml'), service('hidden-away', '  clusterIP: 10.96.0.9\n  ports: [{ port: 80 }]\n'));
    await mkdir(join(dir, '..data'));
    const set = await loadManifestDir(dir);
    t.deepEqual(set.notices.map((n) => [n.file, n.documentIndex, n.message]), [
      [join(dir, 'staging'), null, 'a subdirectory: not read (only the directory\'s own .yaml, .yml and .json files are)'],
    ]);
    t.is(set.state.services.size, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a healthCheckNodePort kube-proxy ignores is a warning: the Service is served, without a health check', (t) => {
  const text = service('np', '  type: NodePort\n  clusterIP: 10.96.0.10\n  externalTrafficPolicy: Cluster\n  healthCheckNodePort: 30999\n  ports: [{ port: 80, nodePort: 30080 }]\n');
  const set = parseManifests([{ file: 's.yaml', text }]);
  t.deepEqual(set.errors, []);
  t.deepEqual(set.notices.map((n) => [n.line, n.message]), [[1,
    'Service default/np: spec.healthCheckNodePort: the API server allows it only when type is LoadBalancer and externalTrafficPolicy is Local; ignored (no health check is served), as by kube-proxy']]);
  const { plan } = buildPlanReport(set.state, resolvePlanNode(set.state, { name: 'node-a', addresses: ['198.51.100.1'] }));
  t.deepEqual(lines(plan), [
    'default/np: ClusterIP 10.96.0.10:80/TCP Cluster -> reject',
    'default/np: NodePort 198.51.100.1:30080/TCP Cluster -> reject',
  ]);
  t.deepEqual(plan.healthCheckNodePorts, []);
});

test('IPv4 leading zeros in objects are planned as kube-proxy reads them (decimal), with a warning naming the field', (t) => {
  const text = `${service('web', '  clusterIP: 010.096.000.010\n  externalIPs: [203.000.113.007]\n  ports: [{ name: http, port: 80 }]\n')}apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: web-1, labels: { kubernetes.io/service-name: web } }
addressType: IPv4
ports: [{ name: http, port: 8080 }]
endpoints: [{ addresses: [198.018.001.005], nodeName: node-a }]
`;
  const set = parseManifests([{ file: 's.yaml', text }]);
  t.deepEqual(set.errors, []);
  t.deepEqual(set.notices.map((n) => [n.documentIndex, n.line, n.message.replace(/ has leading zeros: read as (\S+), .*/, ' -> $1')]), [
    [0, 1, 'Service default/web: spec.clusterIP: \'010.096.000.010\' -> 10.96.0.10'],
    [0, 1, 'Service default/web: spec.externalIPs[0]: \'203.000.113.007\' -> 203.0.113.7'],
    [1, 11, 'EndpointSlice default/web-1: endpoints[0].addresses[0]: \'198.018.001.005\' -> 198.18.1.5'],
  ]);
  const { plan } = buildPlanReport(set.state, resolvePlanNode(set.state, { name: 'node-a', addresses: ['198.51.100.1'] }));
  t.deepEqual(lines(plan), [
    'default/web:http ClusterIP 10.96.0.10:80/TCP Cluster -> 198.18.1.5:8080@node-a',
    'default/web:http ExternalIP 203.0.113.7:80/TCP Cluster -> 198.18.1.5:8080@node-a',
  ]);
});
