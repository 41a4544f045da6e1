/**
 * What runs in every lab pod: the pod server (HTTP + UDP echo) and an iperf3
 * server. Started in parallel; each waits until its sockets are bound.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LabEntries, NODE } from './entries.js';
import { startProcess, waitFor, waitForLog, type LabProcess } from './processes.js';
import { nsRun } from './sh.js';
import type { LabPod, LabTopology } from './topology.js';

export const IPERF_PORT = 5201;
const READY_TIMEOUT_MS = 10_000;

function listening(ns: string, port: number): boolean {
  try {
    return nsRun(ns, 'ss', ['-Hltn', `sport = :${port}`]).trim() !== '';
  } catch {
    return false;
  }
}

export async function launchPodServer(topo: LabTopology, pod: LabPod): Promise<LabProcess> {
  const proc = startProcess({
    name: `pod-server ${pod.name}`, ns: pod.ns, log: join(topo.workDir, 'logs', `pod-${pod.name}.log`),
    argv: [NODE, LabEntries.podServer, pod.name],
  });
  await waitForLog(proc, `ready ${pod.name}`, READY_TIMEOUT_MS);
  return proc;
}

export async function launchIperfServer(topo: LabTopology, pod: LabPod): Promise<LabProcess> {
  const proc = startProcess({
    name: `iperf3 ${pod.name}`, ns: pod.ns, log: join(topo.workDir, 'logs', `iperf3-${pod.name}.log`),
    argv: ['iperf3', '--server', '--port', String(IPERF_PORT)],
  });
  await waitFor(proc, `a listener on port ${IPERF_PORT}`, () => listening(pod.ns, IPERF_PORT), READY_TIMEOUT_MS);
  return proc;
}

/** Every pod's servers, all at once. */
export async function startPods(topo: LabTopology): Promise<LabProcess[]> {
  mkdirSync(join(topo.workDir, 'logs'), { recursive: true });
  const pods = topo.nodes.flatMap((n) => n.pods);
  const started = await Promise.all(pods.flatMap((p) => [launchPodServer(topo, p), launchIperfServer(topo, p)]));
  return started;
}
