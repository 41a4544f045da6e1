/**
 * Pods for the socket LB's tests and benchmark: network namespaces on one
 * bridge (in a hub namespace of their own, so the test's namespace is not
 * involved), pod servers in some, a cgroup2 directory for the clients, and
 * a way to run the socket client in a pod, inside that cgroup or not.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LabEntries, NODE, requireBuilt } from '../../src/lab/entries.js';
import { startProcess, stopProcess, waitForLog, type LabProcess } from '../../src/lab/processes.js';
import { runSocketClient } from '../../src/lab/client.js';
import type { SocketOp } from '../../src/lab/socket-client.js';
import { testCgroup } from './cgroup.js';
import type { Cleanup } from './datapath.js';
import { inNetns, sh } from './netns.js';

export const POD_PREFIX_LEN = 24;

export interface Pod { readonly name: string; readonly ns: string; readonly address: string }

export interface PodNetwork {
  readonly pods: ReadonlyMap<string, Pod>;
  /** A cgroup2 directory, empty until clients are run in it. */
  readonly cgroup: string;
  pod(name: string): Pod;
  /** Starts a pod server (HTTP 8080, UDP 9000 unless told) in a pod; over HTTP it answers with the address it was reached on. */
  serve(name: string, ports?: { http: number; udp: number }): Promise<LabProcess>;
  /** Starts the byte server (src/lab/byte-server.ts, TCP and UDP on `port`) in a pod: the benchmark's. */
  serveBytes(name: string, port: number): Promise<LabProcess>;
  /** Runs the socket client in a pod, in the cgroup unless `inCgroup` is false; its parsed JSON. */
  run<T>(pod: string, op: SocketOp, opts?: { inCgroup?: boolean; timeoutMs?: number }): Promise<T>;
}

function tryQuietly(fn: () => void): void {
  try { fn(); } catch { /* already gone */ }
}

/**
 * `pods`: name -> address (a /24 shared by all; `extra` addresses go on a
 * pod's loopback, routed to it from every other pod).
 */
export function podNetwork(t: Cleanup, pods: Readonly<Record<string, string>>, extra: Readonly<Record<string, readonly string[]>> = {}): PodNetwork {
  requireBuilt('podServer', 'socketClient', 'byteServer');
  const id = randomBytes(3).toString('hex');
  const hub = `dsrlbs-${id}-hub`;
  const workDir = mkdtempSync(join(tmpdir(), 'dsrlb-sock-'));
  t.teardown(() => rmSync(workDir, { recursive: true, force: true }));
  sh('ip', ['netns', 'add', hub]);
  t.teardown(() => tryQuietly(() => sh('ip', ['netns', 'del', hub])));
  inNetns(hub, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
  inNetns(hub, 'ip', ['link', 'set', 'br0', 'up']);

  const made = new Map<string, Pod>();
  let n = 0;
  for (const [name, address] of Object.entries(pods)) {
    const ns = `dsrlbs-${id}-${name}`;
    sh('ip', ['netns', 'add', ns]);
    t.teardown(() => tryQuietly(() => sh('ip', ['netns', 'del', ns])));
    const port = `p${n++}`;
    inNetns(hub, 'ip', ['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    inNetns(hub, 'ip', ['link', 'set', port, 'master', 'br0', 'up']);
    inNetns(ns, 'ip', ['link', 'set', 'lo', 'up']);
    inNetns(ns, 'ip', ['addr', 'add', `${address}/${POD_PREFIX_LEN}`, 'dev', 'eth0']);
    inNetns(ns, 'ip', ['link', 'set', 'eth0', 'up']);
    for (const a of extra[name] ?? []) inNetns(ns, 'ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    made.set(name, { name, ns, address });
  }
  for (const [owner, addresses] of Object.entries(extra)) {
    const via = made.get(owner);
    if (!via) throw new Error(`no pod ${owner}`);
    for (const p of made.values()) {
      if (p.name !== owner) for (const a of addresses) inNetns(p.ns, 'ip', ['route', 'add', `${a}/32`, 'via', via.address]);
    }
  }

  // Registered after the namespaces: removed before them (last in, first out), once the clients are gone.
  const cgroup = testCgroup(t);

  const pod = (name: string): Pod => {
    const p = made.get(name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  };
  const start = async (what: string, podName: string, argv: string[], log: string, ready: string): Promise<LabProcess> => {
    const proc = startProcess({ name: what, ns: pod(podName).ns, argv, log: join(workDir, log) });
    t.teardown(() => { void stopProcess(proc, 'SIGKILL'); });
    await waitForLog(proc, ready, 10_000);
    return proc;
  };
  return {
    pods: made,
    cgroup,
    pod,
    serve(name, ports) {
      const argv = [NODE, LabEntries.podServer, name, ...(ports ? [String(ports.http), String(ports.udp)] : [])];
      return start(`pod-server ${name}`, name, argv, `${name}-${ports?.http ?? 8080}.log`, `ready ${name}`);
    },
    serveBytes(name, port) {
      return start(`byte-server ${name}`, name, [NODE, LabEntries.byteServer, String(port)], `${name}-bytes-${port}.log`, 'ready');
    },
    run<T>(podName: string, op: SocketOp, opts: { inCgroup?: boolean; timeoutMs?: number } = {}): Promise<T> {
      return runSocketClient<T>(pod(podName).ns, op, opts.inCgroup === false ? null : cgroup, opts.timeoutMs ?? 30_000);
    },
  };
}
