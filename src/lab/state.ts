/**
 * A lab's state file (in its work directory): who owns it and what runs in
 * it. `lab down` uses it to tell a lab someone is using from the leftovers
 * of a crashed run (owner gone), and to find every lab by prefix.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Mode } from '../agent/config.js';
import { alive, startTime, type LabProcess } from './processes.js';
import { run } from './sh.js';
import { LAB_BPFFS_PREFIX, LAB_NS_PATTERN, LAB_WORKDIR_PREFIX, type LabTopology } from './topology.js';

export interface LabOwner { readonly pid: number; readonly startTime: number }

export interface LabState {
  readonly id: string;
  readonly createdAt: string;
  /** The process whose end ends the lab (tests, bench, demo); null for `lab up` (until `lab down`). */
  readonly owner: LabOwner | null;
  readonly nodes: number;
  readonly podsPerNode: number;
  readonly mode: Mode;
  readonly processes: readonly LabProcess[];
}

export function statePath(topo: LabTopology): string {
  return join(topo.workDir, 'state.json');
}

export function writeState(topo: LabTopology, state: LabState): void {
  const path = statePath(topo);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

export function readState(workDir: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(join(workDir, 'state.json'), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function currentOwner(): LabOwner {
  return { pid: process.pid, startTime: startTime(process.pid) ?? 0 };
}

/** The owner process still runs (same pid and same start time). */
export function ownerAlive(owner: LabOwner): boolean {
  return alive(owner.pid) && startTime(owner.pid) === owner.startTime;
}

export interface FoundLab {
  readonly id: string;
  readonly state: LabState | undefined;
  readonly namespaces: readonly string[];
  readonly bpffs: boolean;
  readonly workDir: boolean;
}

/** Every lab on this machine, from namespaces, bpffs directories and work directories by prefix. */
export function findLabs(): FoundLab[] {
  const ids = new Map<string, string[]>();
  const add = (id: string): string[] => { const l = ids.get(id) ?? []; ids.set(id, l); return l; };
  for (const line of run('ip', ['netns', 'list']).split('\n')) {
    const ns = line.split(' ')[0] ?? '';
    const m = LAB_NS_PATTERN.exec(ns);
    if (m?.[1]) add(m[1]).push(ns);
  }
  const scan = (prefix: string): string[] => {
    const dir = dirname(prefix);
    const base = basename(prefix);
    if (!existsSync(dir)) return [];
    return readdirSync(dir).filter((n) => n.startsWith(base) && /^[a-z0-9]{1,8}$/.test(n.slice(base.length))).map((n) => n.slice(base.length));
  };
  const bpffs = new Set(scan(LAB_BPFFS_PREFIX));
  const work = new Set(scan(LAB_WORKDIR_PREFIX));
  for (const id of [...bpffs, ...work]) add(id);
  return [...ids.entries()].map(([id, namespaces]) => ({
    id, namespaces, bpffs: bpffs.has(id), workDir: work.has(id), state: readState(`${LAB_WORKDIR_PREFIX}${id}`),
  }));
}

/** A lab nobody uses any more: its owner exited without tearing it down. */
export function isLeftover(lab: FoundLab): boolean {
  return lab.state !== undefined && lab.state.owner !== null && !ownerAlive(lab.state.owner);
}
