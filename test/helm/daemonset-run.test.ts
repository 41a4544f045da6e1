/**
 * The chart's DaemonSet run for real: its dsrlb container started as the
 * kubelet would (test/helm/kubelet.ts) against an API server that serves TLS,
 * checks the token and enforces the rendered ClusterRole; and chart changes
 * that break the pod are caught by the same checks. Serial: each test loads
 * the datapath, and the probes' timeouts are the chart's, not a loaded CI's.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ClusterRole, V1DaemonSet, V1PodSpec } from '@kubernetes/client-node';
import { requireRoot } from '../helpers/root.js';
import { find, type K8sObject } from './chart.js';
import { startContainer, type NodeContext } from './kubelet.js';
import { nodeUnderTest, renderFor, runDaemonSetPod } from './pod.js';

function podSpec(docs: readonly K8sObject[]): V1PodSpec {
  return (find(docs, 'DaemonSet') as unknown as V1DaemonSet).spec?.template.spec as V1PodSpec;
}

test.serial('the rendered DaemonSet runs: probes answer, kube-proxy\'s health port answers, the maps follow the API, lbctl works through exec', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const run = await runDaemonSetPod(t, n, renderFor(n));
  t.deepEqual(run.problems, []);
  t.deepEqual(Object.keys(run.proxyHealthz ?? {}), ['lastUpdated', 'currentTime', 'nodeEligible']);
  t.true(run.proxyHealthz?.nodeEligible);
  t.like(run.lbctlStatus, { agent: { healthy: true } });
  // The agent authenticated with the mounted token over TLS and only listed and watched.
  t.deepEqual([...new Set(run.api.requests.map((r) => `${r.verb} ${r.resource}`))].sort(),
    ['list endpointslices', 'list nodes', 'list services', 'watch endpointslices', 'watch nodes', 'watch services']);
});

test.serial('snat mode with the privileged option runs as well', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const run = await runDaemonSetPod(t, n, renderFor(n, { loadBalancer: { mode: 'snat', acceleration: 'generic' }, securityContext: { privileged: true } }));
  t.deepEqual(run.problems, []);
});

test.serial('a wrong argument breaks the pod, and the check says so', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const run = await runDaemonSetPod(t, n, renderFor(n, { extraArgs: ['--socket-lb-host-namespace'] }));
  t.is(run.problems.length, 1);
  t.regex(run.problems[0] ?? '', /container exited with code 2: .*unknown option '--socket-lb-host-namespace'/);
});

test.serial('a missing bpffs mount breaks the pod (pins not on the host), and the check says so', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const docs = renderFor(n);
  const c = podSpec(docs).containers[0];
  if (c) c.volumeMounts = c.volumeMounts?.filter((m) => m.name !== 'bpf-maps');
  const run = await runDaemonSetPod(t, n, docs);
  t.regex(run.problems.join('\n'), /no maps pinned on the host's bpffs/);
});

test.serial('a missing RBAC verb breaks the pod, and the check names the refused request', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const docs = renderFor(n);
  const role = find(docs, 'ClusterRole') as unknown as V1ClusterRole;
  role.rules = role.rules?.map((r) => (r.resources?.includes('endpointslices') ? { ...r, verbs: ['list'] } : r));
  const run = await runDaemonSetPod(t, n, docs);
  t.regex(run.problems.join('\n'),
    /refused a request \(403\): endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:kube-system:dsrlb" cannot watch resource "endpointslices"/);
});

test.serial('the API server address missing from the values: the agent cannot reach the API (the kubernetes ClusterIP goes nowhere)', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const docs = renderFor(n);
  const c = podSpec(docs).containers[0];
  if (c) c.env = c.env?.filter((e) => !e.name.startsWith('KUBERNETES_SERVICE_'));
  const run = await runDaemonSetPod(t, n, docs, 8000);
  t.regex(run.problems.join('\n'), /startup probe never succeeded/);
});

test.serial('the mount-bpf-fs init container mounts bpffs where the host has none, and leaves a mounted one alone', async (t) => {
  requireRoot(t);
  const n = nodeUnderTest(t);
  const pod = podSpec(renderFor(n));
  const init = pod.initContainers?.[0];
  if (!init) return t.fail('no init container');
  const empty = mkdtempSync(join(tmpdir(), 'dsrlb-nobpffs-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  for (const [host, expectMounts] of [[empty, 1], [n.hostBpffs, 0]] as const) {
    const node: NodeContext = {
      netns: n.ns, nodeName: 'node-a', serviceAccountDir: n.saDir, binDir: n.binDir, hostPaths: new Map([['/sys/fs/bpf', host]]),
      kubernetesService: { host: '10.96.0.1', port: '443' }, configMaps: [],
    };
    // After its command: the filesystem type there, and how many bpffs mounts are stacked on /sys/fs/bpf.
    const c = startContainer(pod, init, node, 'stat -f -c %T /sys/fs/bpf; grep -c " /sys/fs/bpf bpf " /proc/self/mounts');
    t.is(await c.done, 0, c.log());
    const [fsType, mounts] = c.log().trim().split('\n');
    t.is(fsType, 'bpf_fs');
    // The stand-in for a mounted host bpffs is itself one bpf mount (the bind); the empty one gets the init's own.
    t.is(Number(mounts), 1, `${expectMounts === 1 ? 'mounted by the init container' : 'the host\'s, untouched'}`);
  }
});
