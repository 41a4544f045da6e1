/**
 * The lab's long-running processes (pod servers, iperf3, agents): started
 * detached inside a namespace with their output in a log file, so a lab
 * brought up by `lbctl lab up` outlives the command; watched through that
 * file; stopped by their own pid only.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync } from 'node:fs';
import { DsrlbError } from '../errors.js';
import { inNamespace } from './sh.js';

export interface LabProcess {
  /** e.g. "agent node-a", "pod-server web-b1" */
  readonly name: string;
  readonly ns: string;
  readonly pid: number;
  readonly log: string;
}

export interface StartOptions {
  readonly name: string;
  readonly ns: string;
  readonly argv: readonly string[];
  readonly log: string;
  readonly env?: NodeJS.ProcessEnv;
  /** See inNamespace: keep the host's bpffs visible (agents). */
  readonly hostBpffs?: { stash: string };
}

/** How the processes this process started ended, by pid (for error messages). */
const exits = new Map<number, string>();

/** Polling interval of every wait here; each wait also has a deadline. */
const POLL_MS = 50;

export function startProcess(opts: StartOptions): LabProcess {
  const fd = openSync(opts.log, 'a');
  try {
    const [cmd, args] = inNamespace(opts.ns, opts.argv, opts.hostBpffs);
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: opts.env ?? process.env, detached: true });
    if (child.pid === undefined) throw new DsrlbError('ERR_LAB_SPAWN', `cannot start ${opts.name}`, { subject: cmd, remedy: 'is it installed?' });
    // `ip netns exec`, nsenter, unshare and sh all exec: this pid is the program's own.
    child.unref();
    child.on('error', () => undefined);
    child.on('exit', (code, signal) => exits.set(child.pid ?? 0, signal ? `killed by ${signal}` : `exit code ${code ?? '?'}`));
    return { name: opts.name, ns: opts.ns, pid: child.pid, log: opts.log };
  } finally {
    closeSync(fd);
  }
}

/** Running (not gone, not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), to tell a reused pid apart. */
export function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return undefined;
  }
}

export function readLog(p: LabProcess): string {
  return existsSync(p.log) ? readFileSync(p.log, 'utf8') : '';
}

export function fileSize(path: string): number {
  return existsSync(path) ? statSync(path).size : 0;
}

/** A log line, short: pino JSON becomes "msg: err.message", anything else is cut at 200 characters. */
export function summarizeLine(line: string): string {
  try {
    const j = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    if (typeof j.msg === 'string') return j.err?.message ? `${j.msg}: ${j.err.message}` : j.msg;
  } catch { /* not JSON */ }
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** The last line of a log, short, for error messages. */
export function logTail(p: LabProcess): string {
  const last = readLog(p).trimEnd().split('\n').pop() ?? '';
  return last ? summarizeLine(last) : '(empty log)';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `done()` holds, polling; fails when the deadline passes or
 * the process exits first (its log tail says why).
 */
export async function waitFor(p: LabProcess, what: string, done: () => boolean, timeoutMs: number, failed: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (done()) return;
    const failure = failed();
    if (failure !== undefined) {
      throw new DsrlbError('ERR_LAB_PROCESS_FAILED', `${p.name}: ${failure}`, { subject: p.log, remedy: `read ${p.log}` });
    }
    if (!alive(p.pid)) {
      if (done()) return;
      const how = exits.get(p.pid);
      throw new DsrlbError('ERR_LAB_PROCESS_EXITED', `${p.name} exited${how ? ` (${how})` : ''} before ${what}; last logged: ${logTail(p)}`, { subject: p.log, remedy: `read ${p.log}` });
    }
    if (Date.now() > deadline) {
      throw new DsrlbError('ERR_LAB_TIMEOUT', `${p.name}: no ${what} within ${(timeoutMs / 1000).toFixed(0)} s; last logged: ${logTail(p)}`, { subject: p.log, remedy: `read ${p.log}` });
    }
    await sleep(POLL_MS);
  }
}

/** Waits until the log (from byte `from` on) contains `needle`. */
export function waitForLog(p: LabProcess, needle: string, timeoutMs: number, from = 0): Promise<void> {
  return waitFor(p, `'${needle}' in its log`, () => readLog(p).indexOf(needle, from) >= 0, timeoutMs);
}

/** Sends `signal` to the process (by pid) and waits for it to go, escalating to SIGKILL. */
export async function stopProcess(p: LabProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 3_000): Promise<void> {
  if (!alive(p.pid)) return;
  try { process.kill(p.pid, signal); } catch { return; }
  const deadline = Date.now() + timeoutMs;
  while (alive(p.pid) && Date.now() < deadline) await sleep(POLL_MS);
  if (alive(p.pid)) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    const hard = Date.now() + 2_000;
    while (alive(p.pid) && Date.now() < hard) await sleep(POLL_MS);
  }
}
