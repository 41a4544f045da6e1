/** Network namespaces and veth pairs a test creates and always removes. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecutionContext } from 'ava';

export function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function inNetns(ns: string, cmd: string, args: string[]): string {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export interface VethIntoNetns {
  readonly ns: string;
  /** The end left in this (the test's) namespace. */
  readonly hostIf: string;
  /** The end moved into `ns`. */
  readonly nsIf: string;
}

/**
 * A fresh namespace and a veth pair whose peer lives in it; deleting the
 * namespace deletes the pair. Names are random so parallel runs never collide.
 */
export function vethIntoNetns(t: ExecutionContext, prefix = 'dsrlbt'): VethIntoNetns {
  const id = randomBytes(3).toString('hex');
  const ns = `${prefix}-${id}`;
  const hostIf = `${prefix}${id}h`;
  const nsIf = `${prefix}${id}n`;
  sh('ip', ['netns', 'add', ns]);
  t.teardown(() => {
    try { sh('ip', ['link', 'del', hostIf]); } catch { /* already gone with the namespace */ }
    sh('ip', ['netns', 'del', ns]);
  });
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
  sh('ip', ['link', 'set', nsIf, 'netns', ns]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  inNetns(ns, 'ip', ['link', 'set', 'lo', 'up']);
  inNetns(ns, 'ip', ['link', 'set', nsIf, 'up']);
  return { ns, hostIf, nsIf };
}

