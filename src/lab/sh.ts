/** Running commands for the lab: in this namespace or inside a lab namespace. */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { DsrlbError } from '../errors.js';

const execFileAsync = promisify(execFile);

export function run(cmd: string, args: readonly string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim() ?? '';
    throw new DsrlbError('ERR_LAB_COMMAND', `${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: e });
  }
}

/** Runs inside a network namespace. */
export function nsRun(ns: string, cmd: string, args: readonly string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export async function nsRunAsync(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<string> {
  try {
    const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
    return stdout;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr?.trim() ?? '';
    throw new DsrlbError('ERR_LAB_COMMAND', `in ${ns}: ${cmd} ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, { cause: e });
  }
}

/** Starts a long-running process inside a namespace (servers, agents). */
export function nsSpawn(ns: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, detached: false });
}
