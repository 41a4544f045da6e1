/**
 * One node of a cluster for the chart's DaemonSet: a node network namespace
 * with eth0 (a veth to this namespace), the in-process API server behind it
 * over TLS with a service-account token and the rendered ClusterRole enforced,
 * the host's bpffs and cgroup2 root stood in by directories of the test's
 * own; then the agent container run as the kubelet would (kubelet.ts) and
 * checked as a user would: probes, kube-proxy's health port, the maps pinned
 * on the host from the API objects, a later change followed, `lbctl status`
 * through exec, and no request refused.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { V1ClusterRole, V1ConfigMap, V1Container, V1DaemonSet, V1PodSpec } from '@kubernetes/client-node';
import { BPFFS_MOUNT } from '../../src/bpf/pins.js';
import { currentLayoutDir, projectRoot } from '../../src/bpf/index.js';
import { MapSpecs, openPinned } from '../../src/bpf/map-specs.js';
import { FakeApiServer } from '../k8s/fake-apiserver.js';
import { sh, vethIntoNetns } from '../helpers/netns.js';
import { admissionProblems, containerEnv, runProbe, httpGet, startContainer, type NodeContext, type RunningContainer } from './kubelet.js';
import { find, render, type K8sObject, type Values } from './chart.js';

const NAMESPACE = 'kube-system';
const SERVICE_ACCOUNT = 'system:serviceaccount:kube-system:dsrlb';
const CLUSTER_IP = '10.96.0.10';
const NODE_PORT = 30080;

function cgroup2Mount(): string {
  const line = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[2] === 'cgroup2');
  const dir = line?.split(' ')[1];
  if (!dir) throw new Error('no cgroup2 mount in /proc/mounts');
  return dir;
}

/** A CA and a server certificate for `ip`, made with openssl as a cluster's PKI would be. */
function pki(dir: string, ip: string): { ca: string; key: string; cert: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const o = (args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' }); };
  o(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=kubernetes-ca']);
  o(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=kube-apiserver']);
  writeFileSync(join(dir, 'san.ext'), `subjectAltName=IP:${ip}\n`);
  o(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.ext']);
  return { ca: join(dir, 'ca.crt'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8') };
}

export interface NodeUnderTest {
  readonly ns: string;
  readonly nodeIp: string;
  readonly apiHost: string;
  readonly apiPort: number;
  /** Stands in for the host's /sys/fs/bpf. */
  readonly hostBpffs: string;
  /** The cgroup the socket LB attaches to (a fresh child of the cgroup2 root). */
  readonly cgroup: string;
  readonly saDir: string;
  readonly binDir: string;
  readonly caFile: string;
  readonly tls: { readonly key: string; readonly cert: string };
  readonly token: string;
}

/** The node and the stand-ins; all removed when the test ends. */
export function nodeUnderTest(t: ExecutionContext): NodeUnderTest {
  const { ns, hostIf, nsIf } = vethIntoNetns(t, 'dsrlbh');
  const subnet = `10.${200 + (randomBytes(1)[0] ?? 0) % 50}.${randomBytes(1)[0] ?? 0}`;
  const base = 4 * ((randomBytes(1)[0] ?? 0) % 63);
  const apiHost = `${subnet}.${base + 1}`;
  const nodeIp = `${subnet}.${base + 2}`;
  sh('ip', ['addr', 'add', `${apiHost}/30`, 'dev', hostIf]);
  sh('ip', ['-n', ns, 'link', 'set', nsIf, 'down']);
  sh('ip', ['-n', ns, 'link', 'set', nsIf, 'name', 'eth0']);
  sh('ip', ['-n', ns, 'addr', 'add', `${nodeIp}/30`, 'dev', 'eth0']);
  sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);

  const id = randomBytes(4).toString('hex');
  const hostBpffs = join(BPFFS_MOUNT, `dsrlb-test-${id}`);
  mkdirSync(hostBpffs);
  const cgroup = join(cgroup2Mount(), `dsrlb-test-${id}`);
  mkdirSync(cgroup);
  const work = mkdtempSync(join(tmpdir(), 'dsrlb-pod-'));
  const saDir = join(work, 'serviceaccount');
  const binDir = join(work, 'bin');
  mkdirSync(saDir);
  mkdirSync(binDir);
  const { ca, key, cert } = pki(work, apiHost);
  const token = randomBytes(24).toString('base64url');
  writeFileSync(join(saDir, 'token'), token);
  writeFileSync(join(saDir, 'ca.crt'), readFileSync(ca));
  writeFileSync(join(saDir, 'namespace'), NAMESPACE);
  // The image's PATH: dsrlb-agent and lbctl (Dockerfile).
  symlinkSync(join(projectRoot, 'bin', 'dsrlb-agent.js'), join(binDir, 'dsrlb-agent'));
  symlinkSync(join(projectRoot, 'bin', 'lbctl.js'), join(binDir, 'lbctl'));
  t.teardown(() => {
    // What `helm uninstall` leaves to the operator: detach and unpin (the agent's own cleanup).
    if (existsSync(join(hostBpffs, 'dsrlb'))) {
      try {
        execFileSync('nsenter', [`--net=/run/netns/${ns}`, '--', 'node', join(projectRoot, 'bin', 'dsrlb-agent.js'), 'cleanup', '--bpffs-root', join(hostBpffs, 'dsrlb')], { stdio: 'ignore' });
      } catch { /* the checks already failed; remove what is left below */ }
    }
    rmSync(hostBpffs, { recursive: true, force: true });
    try { rmdirSync(cgroup); } catch { /* a process still in it is gone with the namespace */ }
    rmSync(work, { recursive: true, force: true });
  });
  return { ns, nodeIp, apiHost, apiPort: 6443, hostBpffs, cgroup, saDir, binDir, caFile: ca, tls: { key, cert }, token };
}

/** The values a user would pass for this node: the API server's real address, its devices, its cgroup2 root. */
export function nodeValues(n: NodeUnderTest): Values {
  return { k8sServiceHost: n.apiHost, k8sServicePort: n.apiPort, devices: ['eth0'], cgroup: { hostRoot: n.cgroup }, loadBalancer: { acceleration: 'native' } };
}

export function renderFor(n: NodeUnderTest, extra: Values = {}): K8sObject[] {
  return render({ ...nodeValues(n), ...extra });
}

function service(name: string, clusterIP: string, nodePort: number): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'shop' },
    spec: { type: 'NodePort', clusterIP, clusterIPs: [clusterIP], ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort }] },
  };
}

function slice(name: string, service: string, address: string): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'shop', labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'node-b' }],
  };
}

export function frontends(root: string): string[] {
  const m = openPinned(root, MapSpecs.services);
  try {
    return m.entries().map(([k]) => `${k.address}:${k.port}`).sort();
  } finally {
    m.close();
  }
}

export interface PodRun {
  /** What a user would see go wrong, first failure first; empty when the pod works. */
  readonly problems: string[];
  readonly container?: RunningContainer;
  readonly api: FakeApiServer;
  readonly lbctlStatus?: Record<string, unknown>;
  readonly proxyHealthz?: Record<string, unknown>;
}

async function waitUntil(ms: number, cond: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

function execInContainer(pid: number, env: Record<string, string>, argv: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--target=${pid}`, '--mount', '--net', '--', ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** Deploys the rendered documents on the node and checks the pod as a user would; startupLimitMs bounds the startup probe. */
export async function runDaemonSetPod(t: ExecutionContext, n: NodeUnderTest, docs: readonly K8sObject[], startupLimitMs = 30_000): Promise<PodRun> {
  const role = docs.find((d) => d.kind === 'ClusterRole') as unknown as V1ClusterRole | undefined;
  const api = await FakeApiServer.start({ host: n.apiHost, port: n.apiPort, tls: n.tls, auth: { token: n.token, user: SERVICE_ACCOUNT, rules: role?.rules ?? [] } });
  t.teardown(() => api.close());
  api.put('nodes', { metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: n.nodeIp }] } });
  api.put('nodes', { metadata: { name: 'node-b' }, status: { addresses: [{ type: 'InternalIP', address: '192.0.2.77' }] } });
  api.put('services', service('web', CLUSTER_IP, NODE_PORT));
  api.put('endpointslices', slice('web-1', 'web', '10.244.1.5'));

  const problems: string[] = [];
  const ds = find(docs, 'DaemonSet') as unknown as V1DaemonSet;
  const pod = ds.spec?.template.spec as V1PodSpec;
  const c = pod.containers.find((x) => x.name === 'dsrlb') as V1Container;
  const node: NodeContext = {
    netns: n.ns, nodeName: 'node-a', serviceAccountDir: n.saDir, binDir: n.binDir,
    hostPaths: new Map([['/sys/fs/bpf', n.hostBpffs], [n.cgroup, n.cgroup]]),
    kubernetesService: { host: '10.96.0.1', port: '443' },
    configMaps: docs.filter((d) => d.kind === 'ConfigMap') as unknown as V1ConfigMap[],
  };
  problems.push(...admissionProblems(pod, c, node));
  if (problems.length > 0) return { problems, api };

  const container = startContainer(pod, c, node);
  t.teardown(async () => {
    if (container.exited()) return;
    container.child.kill('SIGTERM');
    const stopped = await waitUntil(5000, () => container.exited() !== undefined);
    if (!stopped) container.child.kill('SIGKILL');
    await container.done;
  });
  // The container's first error line, else its last lines (what `kubectl logs` would show first).
  const tail = (): string => {
    const lines = container.log().trim().split('\n');
    return lines.find((l) => /error/i.test(l)) ?? lines.slice(-3).join(' | ');
  };

  // startupProbe: until it succeeds or the container dies (the kubelet would restart it: CrashLoopBackOff).
  let last = '';
  const started = await waitUntil(startupLimitMs, async () => {
    if (container.exited()) return true;
    const r = await runProbe(n.ns, c.startupProbe ?? {}, n.nodeIp);
    last = `${r.status} ${r.body}`;
    return r.ok;
  });
  const exit = container.exited();
  if (exit) return { problems: [`container exited with code ${String(exit.code)}: ${tail()}`], container, api };
  if (!started) return { problems: [`startup probe never succeeded in ${startupLimitMs} ms (last: ${last}): ${tail()}`], container, api };
  // Failing only after failureThreshold consecutive failures, as the kubelet counts (a second apart, not periodSeconds).
  for (const [name, p] of [['readiness', c.readinessProbe], ['liveness', c.livenessProbe]] as const) {
    let r = await runProbe(n.ns, p ?? {}, n.nodeIp);
    for (let i = 1; !r.ok && i < (p?.failureThreshold ?? 3); i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await runProbe(n.ns, p ?? {}, n.nodeIp);
    }
    if (!r.ok) problems.push(`${name} probe answered ${r.status}: ${r.body}`);
  }

  let proxyHealthz: Record<string, unknown> | undefined;
  const healthzPort = c.ports?.find((p) => p.name === 'proxy-healthz')?.containerPort;
  if (healthzPort !== undefined) {
    const r = await httpGet(n.ns, n.nodeIp, healthzPort, '/healthz');
    if (r.status !== 200) problems.push(`kube-proxy's health port ${healthzPort} answered ${r.status}`);
    else proxyHealthz = JSON.parse(r.body) as Record<string, unknown>;
  }

  // The agent pins its maps in its layout's directory below the root.
  const root = currentLayoutDir(join(n.hostBpffs, 'dsrlb'));
  if (!existsSync(join(root, MapSpecs.services.name))) {
    problems.push(`no maps pinned on the host's bpffs (${n.hostBpffs}): the agent's pins would vanish with its pod`);
    return { problems, container, api };
  }
  for (const want of [`${CLUSTER_IP}:80`, `${n.nodeIp}:${NODE_PORT}`]) {
    if (!frontends(root).includes(want)) problems.push(`frontend ${want} not in lb4_services (${frontends(root).join(', ')})`);
  }
  // A Service created after the agent started: the watch must carry it.
  api.put('services', service('late', '10.96.0.11', 30081));
  api.put('endpointslices', slice('late-1', 'late', '10.244.1.6'));
  if (!await waitUntil(10_000, () => frontends(root).includes('10.96.0.11:80'))) problems.push('a Service created after startup never reached the maps');

  // NOTES.txt: kubectl exec ds/dsrlb -- lbctl status
  let lbctlStatus: Record<string, unknown> | undefined;
  const pid = container.child.pid;
  if (pid !== undefined) {
    const r = await execInContainer(pid, containerEnv(c, node), ['lbctl', 'status', '-o', 'json']);
    if (r.code !== 0) problems.push(`lbctl status in the container failed: ${r.out}`);
    else lbctlStatus = JSON.parse(r.out) as Record<string, unknown>;
    // ... and kubectl exec ds/dsrlb -- lbctl bpf lb list
    const list = await execInContainer(pid, containerEnv(c, node), ['lbctl', 'bpf', 'lb', 'list', '-o', 'json']);
    const listed = list.code === 0 ? (JSON.parse(list.out) as { frontend: { address: string; port: number } }[]).map((e) => `${e.frontend.address}:${e.frontend.port}`) : [];
    if (!listed.includes(`${CLUSTER_IP}:80`)) problems.push(`lbctl bpf lb list in the container does not list ${CLUSTER_IP}:80: ${list.out}`);
  }

  for (const r of api.refused) problems.push(`the API server refused a request (${r.status}): ${r.message}`);
  if (container.exited()) problems.push(`container exited: ${tail()}`);
  return { problems, container, api, ...(lbctlStatus ? { lbctlStatus } : {}), ...(proxyHealthz ? { proxyHealthz } : {}) };
}
