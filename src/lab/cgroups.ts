/**
 * Each lab node is a cgroup2 directory: its agent attaches the socket LB
 * there (--cgroup-root), and a pod's process run inside it (inCgroup) is
 * balanced by that node's socket LB, as if it ran on that node. Removed with
 * the lab.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroup2Mount } from '../bpf/cgroup.js';
import { DsrlbError } from '../errors.js';
import { AGENT_CGROUP_MOUNT } from './sh.js';
import type { LabNode, LabTopology } from './topology.js';

function labCgroupName(id: string): string {
  return `dsrlb-lab-${id}`;
}

function hostMount(): string {
  const mount = cgroup2Mount();
  if (mount === null) {
    throw new DsrlbError('ERR_NO_CGROUP2', 'no cgroup2 hierarchy is mounted', { remedy: 'mount one: mount -t cgroup2 none /sys/fs/cgroup' });
  }
  return mount;
}

/** The node's cgroup as this (the host's) mount namespace sees it. */
export function nodeCgroup(topo: LabTopology, node: LabNode): string {
  return join(hostMount(), labCgroupName(topo.id), node.name);
}

/** The same directory as the node's agent sees it (inNamespace mounts cgroup2 at AGENT_CGROUP_MOUNT). */
export function agentCgroupRoot(topo: LabTopology, node: LabNode): string {
  return join(AGENT_CGROUP_MOUNT, labCgroupName(topo.id), node.name);
}

export function createLabCgroups(topo: LabTopology): void {
  for (const node of topo.nodes) mkdirSync(nodeCgroup(topo, node), { recursive: true });
}

/** Best effort and idempotent: a directory still holding a process stays (`lab down` again removes it). */
export function removeLabCgroups(id: string): void {
  const mount = cgroup2Mount();
  if (mount === null) return;
  const base = join(mount, labCgroupName(id));
  for (const letter of 'abcdefgh') {
    try { rmdirSync(join(base, `node-${letter}`)); } catch { /* absent or busy */ }
  }
  try { rmdirSync(base); } catch { /* absent or busy */ }
}
