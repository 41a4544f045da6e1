/**
 * Runs a container of a rendered pod template as the kubelet and a container
 * runtime would, on this machine: the environment resolved (the kubernetes
 * Service variables the kubelet injects, envFrom ConfigMaps, env, the
 * downward API's spec.nodeName), $(VAR) references in command and args
 * expanded, hostNetwork as the node's network namespace, a mount namespace
 * of its own with a fresh sysfs (the container's, without the host's bpffs)
 * and each volumeMount bound from the directory standing in for its hostPath,
 * the service account token and CA at the in-cluster path, and the capability
 * bounding set cut to securityContext.capabilities unless privileged.
 * Not emulated: images (the binaries come from binDir), cgroups limits, and
 * mount propagation back to the host (the sandbox is a slave of the host).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { V1ConfigMap, V1Container, V1PodSpec, V1Probe } from '@kubernetes/client-node';

export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface NodeContext {
  /** The node's network namespace (/run/netns/NAME). */
  readonly netns: string;
  readonly nodeName: string;
  /** hostPath.path -> the directory standing in for it on this machine. */
  readonly hostPaths: ReadonlyMap<string, string>;
  /** token, ca.crt, namespace. */
  readonly serviceAccountDir: string;
  /** Put first on PATH: the image's binaries (dsrlb-agent, lbctl). */
  readonly binDir: string;
  /** What the kubelet injects for the `kubernetes` Service (its ClusterIP). */
  readonly kubernetesService: { readonly host: string; readonly port: string };
  readonly configMaps: readonly V1ConfigMap[];
}

/** Why the kubelet would not start the container; empty when it would. */
export function admissionProblems(pod: V1PodSpec, c: V1Container, node: NodeContext): string[] {
  const problems: string[] = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    if (!vol) { problems.push(`volumeMount ${m.name}: no such volume`); continue; }
    if (!vol.hostPath) { problems.push(`volume ${m.name}: only hostPath volumes are emulated`); continue; }
    const dir = node.hostPaths.get(vol.hostPath.path);
    if (!dir) problems.push(`hostPath ${vol.hostPath.path}: the test provides no directory for it`);
    else if (!existsSync(dir) && vol.hostPath.type !== 'DirectoryOrCreate') problems.push(`hostPath ${vol.hostPath.path}: hostPath type check failed: ${vol.hostPath.type ?? ''} does not exist`);
    if (m.mountPropagation === 'Bidirectional' && !c.securityContext?.privileged) {
      problems.push(`volumeMount ${m.name}: Bidirectional mount propagation is available only to privileged containers`);
    }
  }
  for (const e of c.envFrom ?? []) {
    const name = e.configMapRef?.name;
    if (name && !e.configMapRef?.optional && !node.configMaps.some((cm) => cm.metadata?.name === name)) problems.push(`configmap "${name}" not found`);
  }
  return problems;
}

/** The container's environment, in the kubelet's order (later wins). */
export function containerEnv(c: V1Container, node: NodeContext): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${node.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: '/root',
    KUBERNETES_SERVICE_HOST: node.kubernetesService.host,
    KUBERNETES_SERVICE_PORT: node.kubernetesService.port,
  };
  for (const from of c.envFrom ?? []) {
    const cm = node.configMaps.find((m) => m.metadata?.name === from.configMapRef?.name);
    for (const [k, v] of Object.entries(cm?.data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (field === 'spec.nodeName') env[e.name] = node.nodeName;
    else if (e.valueFrom) throw new Error(`env ${e.name}: only value and fieldRef spec.nodeName are emulated`);
  }
  return env;
}

/** $(VAR) from the environment, $$(VAR) escaped, unknown references left as they are (as the kubelet does). */
export function expand(s: string, env: Readonly<Record<string, string>>): string {
  return s.replace(/\$(\$|\(([A-Za-z_][A-Za-z0-9_]*)\))/g, (all, inner: string, name: string | undefined) => {
    if (inner === '$') return '$';
    return name !== undefined && env[name] !== undefined ? env[name] : all;
  });
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The shell that builds the container's mount namespace, then execs its process. */
/** `stage`: an empty directory for a staging tmpfs (sources are bound there first: the container's own /sys and /run hide the host's). */
export function sandboxScript(pod: V1PodSpec, c: V1Container, node: NodeContext, env: Readonly<Record<string, string>>, stage: string, after = ''): string {
  const binds: [string, string, boolean][] = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = pod.volumes?.find((v) => v.name === m.name);
    const dir = vol?.hostPath ? node.hostPaths.get(vol.hostPath.path) : undefined;
    if (!dir) continue;
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    binds.push([dir, m.mountPath, m.readOnly ?? false]);
  }
  if (pod.automountServiceAccountToken !== false) binds.push([node.serviceAccountDir, SERVICE_ACCOUNT_PATH, true]);
  const lines = ['set -e', `mount -t tmpfs tmpfs ${quote(stage)}`];
  binds.forEach(([dir], i) => lines.push(`mkdir ${quote(`${stage}/${i}`)}`, `mount --bind ${quote(dir)} ${quote(`${stage}/${i}`)}`));
  // Detached, not just covered: a container's /proc/self/mounts lists no host mount under /sys or /run.
  lines.push('umount -l /sys', 'mount -t sysfs sysfs /sys', 'if mountpoint -q /run; then umount -l /run; fi', 'mount -t tmpfs tmpfs /run');
  binds.forEach(([, target, ro], i) => {
    lines.push(`mkdir -p ${quote(target)}`, `mount --bind ${quote(`${stage}/${i}`)} ${quote(target)}`);
    if (ro) lines.push(`mount -o remount,bind,ro ${quote(target)}`);
  });
  const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(a, env));
  const caps = c.securityContext?.privileged ? [] : ['setpriv', `--bounding-set=-all${(c.securityContext?.capabilities?.add ?? []).map((x) => `,+${x.toLowerCase()}`).join('')}`, '--'];
  const run = [...caps, ...argv].map(quote).join(' ');
  lines.push(after === '' ? `exec ${run}` : `set +e; ${run}; rc=$?; ${after}; exit $rc`);
  return lines.join('\n');
}

export interface RunningContainer {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  readonly log: () => string;
  /** The exit code once it has exited (a signal counts as null). */
  readonly exited: () => { code: number | null } | undefined;
  readonly done: Promise<number | null>;
}

/** Starts the container's process in the node's network namespace. */
export function startContainer(pod: V1PodSpec, c: V1Container, node: NodeContext, after = ''): RunningContainer {
  const env = containerEnv(c, node);
  const stage = mkdtempSync(join(tmpdir(), 'dsrlb-stage-'));
  const script = sandboxScript(pod, c, node, env, stage, after);
  const child = spawn('nsenter', [`--net=/run/netns/${node.netns}`, '--', 'unshare', '--mount', '--propagation', 'slave', '--', '/bin/sh', '-c', script],
    { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exit: { code: number | null } | undefined;
  child.stdout?.on('data', (d: Buffer) => { log += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    exit = { code };
    // The tmpfs was the container's: here it is an empty directory.
    rmSync(stage, { recursive: true, force: true });
    resolve(code);
  }));
  return { child, log: () => log, exited: () => exit, done };
}

export interface ProbeResult { readonly status: number; readonly body: string }

/** An HTTP GET as the kubelet makes it for a hostNetwork pod: from the node's network namespace. */
export function httpGet(netns: string, host: string, port: number, path: string, timeoutSeconds = 2): Promise<ProbeResult> {
  const h = host.includes(':') ? `[${host}]` : host;
  return new Promise((resolve) => {
    const child = spawn('nsenter', [`--net=/run/netns/${netns}`, '--', 'curl', '-s', '-m', String(timeoutSeconds), '-w', '\n%{http_code}', `http://${h}:${port}${path}`],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.once('exit', () => {
      const cut = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(cut + 1)) || 0, body: out.slice(0, Math.max(0, cut)) });
    });
  });
}

/** One run of an httpGet probe; 200..399 succeed, as the kubelet counts them. */
export async function runProbe(netns: string, p: V1Probe, podIp: string): Promise<ProbeResult & { readonly ok: boolean }> {
  const get = p.httpGet;
  if (!get) throw new Error('only httpGet probes are emulated');
  const port = typeof get.port === 'number' ? get.port : Number(get.port);
  const r = await httpGet(netns, get.host ?? podIp, port, get.path ?? '/', p.timeoutSeconds ?? 1);
  return { ...r, ok: r.status >= 200 && r.status < 400 };
}
