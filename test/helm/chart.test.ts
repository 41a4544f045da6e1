/** The Helm chart: lint, every permutation valid against the Kubernetes schemas, the values it refuses and why. */
import test from 'ava';
import type { V1ClusterRole, V1ConfigMap, V1Container, V1DaemonSet } from '@kubernetes/client-node';
import { buildProgram } from '../../src/agent/main.js';
import { ENV_VARS } from '../../src/agent/config.js';
import { CHART, find, helm, render, renderError, REQUIRED, schemaErrors, type K8sObject, type Values } from './chart.js';

function daemonSet(docs: readonly K8sObject[]): V1DaemonSet {
  return find(docs, 'DaemonSet') as unknown as V1DaemonSet;
}
function agent(docs: readonly K8sObject[]): V1Container {
  const c = daemonSet(docs).spec?.template.spec?.containers.find((x) => x.name === 'dsrlb');
  if (!c) throw new Error('no dsrlb container');
  return c;
}
function config(docs: readonly K8sObject[]): Record<string, string> {
  return (find(docs, 'ConfigMap') as unknown as V1ConfigMap).data ?? {};
}

test('helm lint passes with the required value, and for a cluster that keeps kube-proxy', (t) => {
  for (const values of [REQUIRED, { kubeProxyReplacement: false }]) {
    const r = helm(['lint', CHART, '--strict'], values);
    t.is(r.status, 0, r.stdout + r.stderr);
    t.regex(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

const PERMUTATIONS: Readonly<Record<string, Values>> = {
  defaults: REQUIRED,
  snat: { ...REQUIRED, loadBalancer: { mode: 'snat' } },
  hybrid: { ...REQUIRED, loadBalancer: { mode: 'hybrid', acceleration: 'generic' } },
  'custom devices': {
    ...REQUIRED, devices: ['ens5', 'bond0.100'], mtu: 9000, tunnelPort: 6082, syncPeriod: '15m',
    connectionTables: { revnatMax: 262144, revnatUnconfirmedMax: 65536, flowsMax: 65536, flowsUnconfirmedMax: 8192, revnatFallback: 'unique-frontend' },
  },
  'API host set': { k8sServiceHost: 'api.cluster.example', k8sServicePort: 443 },
  'metrics published': { ...REQUIRED, prometheus: { enabled: true } },
  'JSON logs': { ...REQUIRED, logFormat: 'json' },
  'ServiceMonitor': { ...REQUIRED, prometheus: { serviceMonitor: { enabled: true, labels: { release: 'prom' }, interval: '30s' } } },
  'socket LB host namespace only': { ...REQUIRED, socketLB: { hostNamespaceOnly: true } },
  'socket LB off': { ...REQUIRED, socketLB: { enabled: false } },
  privileged: { ...REQUIRED, securityContext: { privileged: true } },
  'kube-proxy kept': { kubeProxyReplacement: false },
  'healthz off, extra args': { ...REQUIRED, kubeProxyReplacementHealthzBindAddr: '', extraArgs: ['--log-level=debug'] },
};

/** Every --flag the real agent accepts. */
const agentFlags = new Set(buildProgram(() => undefined).options.map((o) => o.long));
const agentEnv = new Set(Object.values(ENV_VARS));

for (const [name, values] of Object.entries(PERMUTATIONS)) {
  test(`${name}: every document is valid, and every variable and flag is one the agent has`, (t) => {
    const docs = render(values);
    t.deepEqual(docs.flatMap(schemaErrors), []);
    t.deepEqual(Object.keys(config(docs)).filter((k) => !agentEnv.has(k)), [], 'ConfigMap keys the agent does not read');
    const flags = (agent(docs).args ?? []).map((a) => a.split('=')[0]);
    t.deepEqual(flags.filter((f) => !agentFlags.has(f)), [], 'args the agent does not have');
  });
}

test('the DaemonSet is a node agent as Cilium\'s: host network, every node, one at a time, critical, probes on /healthz', (t) => {
  const docs = render(REQUIRED);
  const ds = daemonSet(docs);
  const pod = ds.spec?.template.spec;
  t.true(pod?.hostNetwork);
  t.is(pod?.priorityClassName, 'system-node-critical');
  t.deepEqual(pod?.tolerations, [{ operator: 'Exists' }]);
  t.deepEqual(pod?.nodeSelector, { 'kubernetes.io/os': 'linux' });
  t.deepEqual(ds.spec?.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
  const c = agent(docs);
  t.deepEqual(c.command, ['dsrlb-agent']);
  t.deepEqual(c.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom, { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } });
  t.is(c.env?.find((e) => e.name === 'KUBERNETES_SERVICE_HOST')?.value, '192.0.2.10');
  t.is(c.env?.find((e) => e.name === 'KUBERNETES_SERVICE_PORT')?.value, '6443');
  for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
    t.deepEqual(probe?.httpGet, { host: '127.0.0.1', path: '/healthz', port: 9477, scheme: 'HTTP' });
  }
  t.false(c.securityContext?.privileged);
  t.deepEqual(c.securityContext?.capabilities, { add: ['BPF', 'PERFMON', 'NET_ADMIN', 'SYS_ADMIN', 'SYS_RESOURCE', 'IPC_LOCK'], drop: ['ALL'] });
  t.deepEqual(c.volumeMounts?.map((m) => [m.mountPath, m.mountPropagation]), [['/sys/fs/bpf', 'HostToContainer'], ['/run/dsrlb/cgroupv2', 'HostToContainer']]);
  const init = pod?.initContainers?.[0];
  t.is(init?.name, 'mount-bpf-fs');
  t.deepEqual(init?.volumeMounts?.[0], { name: 'bpf-maps', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' });
  t.true(init?.securityContext?.privileged, 'Bidirectional propagation is only allowed in privileged containers');
  t.deepEqual(pod?.volumes?.map((v) => [v.name, v.hostPath?.path]), [['bpf-maps', '/sys/fs/bpf'], ['cgroup-root', '/sys/fs/cgroup']]);
  t.deepEqual(c.ports?.map((p) => [p.name, p.containerPort, p.hostPort]), [['proxy-healthz', 10256, 10256]], 'metrics stay on loopback by default');
});

test('values reach the agent\'s configuration', (t) => {
  t.like(config(render(PERMUTATIONS.snat ?? {})), { DSRLB_MODE: 'snat', DSRLB_XDP_MODE: 'native' });
  t.like(config(render(PERMUTATIONS.hybrid ?? {})), { DSRLB_MODE: 'hybrid', DSRLB_XDP_MODE: 'generic' });
  t.like(config(render(PERMUTATIONS['custom devices'] ?? {})), {
    DSRLB_DEVICES: 'ens5,bond0.100', DSRLB_MTU: '9000', DSRLB_GENEVE_PORT: '6082', DSRLB_SYNC_PERIOD: '15m',
    DSRLB_REVNAT_MAX: '262144', DSRLB_REVNAT_UNCONFIRMED_MAX: '65536', DSRLB_FLOWS_MAX: '65536', DSRLB_FLOWS_UNCONFIRMED_MAX: '8192', DSRLB_REVNAT_FALLBACK: 'unique-frontend',
  });
  t.like(config(render(PERMUTATIONS['socket LB host namespace only'] ?? {})), { DSRLB_SOCKET_LB: 'true', DSRLB_SOCKET_LB_HOST_NAMESPACE_ONLY: 'true', DSRLB_CGROUP_ROOT: '/run/dsrlb/cgroupv2' });
  const off = render(PERMUTATIONS['socket LB off'] ?? {});
  t.is(config(off).DSRLB_SOCKET_LB, 'false');
  t.false('DSRLB_CGROUP_ROOT' in config(off));
  t.false(agent(off).volumeMounts?.some((m) => m.name === 'cgroup-root'));

  const metricsOff = render(REQUIRED);
  t.is(config(metricsOff).DSRLB_METRICS_ADDR, '127.0.0.1:9476', 'loopback only, as kube-proxy\'s');
  t.is(config(metricsOff).DSRLB_HEALTH_ADDR, '127.0.0.1:9477');
  t.is(config(metricsOff).DSRLB_LOG_FORMAT, 'text');
  t.false(metricsOff.some((d) => d.kind === 'Service'));
  t.is(daemonSet(metricsOff).spec?.template.metadata?.annotations?.['prometheus.io/scrape'], undefined);
  t.is(config(render(PERMUTATIONS['JSON logs'] ?? {})).DSRLB_LOG_FORMAT, 'json');
  // Published: every node address, a hostPort, the annotations and the headless Service.
  for (const name of ['metrics published', 'ServiceMonitor']) {
    const published = render(PERMUTATIONS[name] ?? {});
    t.is(config(published).DSRLB_METRICS_ADDR, '0.0.0.0:9476', name);
    t.deepEqual(agent(published).ports?.find((p) => p.name === 'metrics'), { name: 'metrics', containerPort: 9476, hostPort: 9476, protocol: 'TCP' }, name);
    t.is(daemonSet(published).spec?.template.metadata?.annotations?.['prometheus.io/port'], '9476', name);
    t.true(published.some((d) => d.kind === 'Service' && d.metadata.name.endsWith('-metrics')), name);
  }
  t.true(render(PERMUTATIONS.ServiceMonitor ?? {}).some((d) => d.kind === 'ServiceMonitor'), 'a ServiceMonitor publishes the metrics it scrapes');

  const priv = agent(render(PERMUTATIONS.privileged ?? {}));
  t.true(priv.securityContext?.privileged);
  t.is(priv.securityContext?.capabilities, undefined);
  t.is(priv.volumeMounts?.[0]?.mountPropagation, 'Bidirectional');

  const kept = render(PERMUTATIONS['kube-proxy kept'] ?? {});
  t.false('DSRLB_HEALTHZ_BIND_ADDRESS' in config(kept), 'kube-proxy owns 10256');
  t.deepEqual(agent(kept).args, ['--healthz-bind-address=']);
  t.false(agent(kept).env?.some((e) => e.name === 'KUBERNETES_SERVICE_HOST'));
  t.deepEqual(agent(render(PERMUTATIONS['healthz off, extra args'] ?? {})).args, ['--healthz-bind-address=', '--log-level=debug']);
  const api = agent(render(PERMUTATIONS['API host set'] ?? {}));
  t.deepEqual(api.env?.filter((e) => e.name.startsWith('KUBERNETES_')).map((e) => e.value), ['api.cluster.example', '443']);
});

test('the ClusterRole grants exactly list and watch on the three resources the agent follows', (t) => {
  const role = find(render(REQUIRED), 'ClusterRole') as unknown as V1ClusterRole;
  t.deepEqual(role.rules, [
    { apiGroups: [''], resources: ['services', 'nodes'], verbs: ['list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
});

test('the config checksum changes with the configuration, so the agents roll', (t) => {
  const sum = (v: Values): string | undefined => daemonSet(render(v)).spec?.template.metadata?.annotations?.['checksum/config'];
  t.regex(sum(REQUIRED) ?? '', /^[0-9a-f]{64}$/);
  t.is(sum(REQUIRED), sum({ ...REQUIRED, podAnnotations: { team: 'net' } }));
  t.not(sum(REQUIRED), sum({ ...REQUIRED, loadBalancer: { mode: 'snat' } }));
  t.not(sum(REQUIRED), sum({ ...REQUIRED, maglev: { tableSize: 65521 } }));
});

test('missing k8sServiceHost without kube-proxy: rendering fails saying why and what to set', (t) => {
  const err = renderError({});
  t.regex(err, /k8sServiceHost is required when kubeProxyReplacement is true/);
  t.regex(err, /--set k8sServiceHost=/);
});

const REFUSED: readonly [string, Values, RegExp][] = [
  ['an unknown mode', { ...REQUIRED, loadBalancer: { mode: 'fast' } }, /loadBalancer\/mode|loadBalancer\.mode/],
  ['a dispatch dsrlb does not have', { ...REQUIRED, loadBalancer: { dsrDispatch: 'opt' } }, /dsrDispatch/],
  ['a Maglev size below the base size', { ...REQUIRED, maglev: { tableSize: 509 } }, /tableSize/],
  ['no devices', { ...REQUIRED, devices: [] }, /devices/],
  ['a bad device name', { ...REQUIRED, devices: ['eth0; rm'] }, /devices/],
  ['a misspelt key', { ...REQUIRED, socketLb: { enabled: false } }, /socketLb/],
  ['an MTU below the minimum', { ...REQUIRED, mtu: 100 }, /mtu/],
  ['a sync period that is not a duration', { ...REQUIRED, syncPeriod: 'hourly' }, /syncPeriod/],
  ['a string where a bool goes', { ...REQUIRED, kubeProxyReplacement: 'yes' }, /kubeProxyReplacement/],
  ['a map size the image was not built with', { ...REQUIRED, bpf: { lbMapMax: 1000000 } }, /bpf.lbMapMax=1000000: dsrlb sizes its Service maps when the image is built/],
  ['a node port range upside down', { ...REQUIRED, nodePort: { range: '32767,30000' } }, /nodePort.range=32767,30000: expected LOW,HIGH/],
];

for (const [what, values, message] of REFUSED) {
  test(`refuses ${what} with the chart's message`, (t) => {
    t.regex(renderError(values), message);
  });
}

test('NOTES say how to check it works', (t) => {
  const r = helm(['install', 'dsrlb', CHART, '--namespace', 'kube-system', '--dry-run=client'], REQUIRED);
  t.is(r.status, 0, r.stderr);
  const notes = r.stdout.slice(r.stdout.indexOf('NOTES:'));
  t.regex(notes, /kubectl -n kube-system exec ds\/dsrlb -- lbctl status/);
  t.regex(notes, /kubectl -n kube-system exec ds\/dsrlb -- lbctl bpf lb list/);
  t.regex(notes, /:10256\/healthz/);
});
