/**
 * The benchmark's side of bench/lib/cluster-feed.ts: starts the child and
 * reads its newline-delimited answers (list pages, watch events) as raw
 * bytes, each stamped with performance.now() at the moment its last byte
 * arrived (the moment an agent's list or watch would hand it to its decoder).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterShape, ListedKind } from './cluster.js';

export interface Received {
  /** One line, without its newline. */
  readonly bytes: Buffer;
  /** performance.now() when the line was complete. */
  readonly at: number;
}

/** Entries in the maps the benchmark checks. */
export interface MapCounts {
  readonly services: number;
  readonly backends: number;
  readonly maglevTables: number;
  readonly revnat: number;
  readonly nodes: number;
}

/** Services changed so far, and how many of their lb4_services entries miscount ready endpoints. */
export interface FollowCheck { readonly servicesChecked: number; readonly wrong: number }

const NEWLINE = 0x0a;

/**
 * The module-loader flags of `execArgv` (tsx's): the child runs the .ts as
 * this process does. Other flags stay here: --trace-gc, for one, would write
 * into the child's stdout, which is the feed.
 */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i] as string;
    if (/^--(import|require|loader|experimental-loader)=/.test(flag)) out.push(flag);
    else if (/^(--import|--require|-r|--loader|--experimental-loader)$/.test(flag) && i + 1 < execArgv.length) out.push(flag, execArgv[++i] as string);
  }
  return out;
}

export class ClusterFeed {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private partial: Buffer[] = [];
  private readonly lines: Received[] = [];
  private readonly waiters: { resolve: (r: Received) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  /** Lists are served in pages of `pageSize` items. */
  constructor(shape: ClusterShape, pageSize: number) {
    // Beside this file, with its extension: .ts under tsx, .js when compiled.
    const script = fileURLToPath(new URL(`./cluster-feed${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
    const args = [shape.services, shape.endpointsPerService, shape.nodes, shape.nodePortEvery, pageSize].map(String);
    this.child = spawn(process.execPath, [...loaderFlags(process.execArgv), script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    this.child.on('error', (e) => this.fail(new Error(`cluster feed: ${e.message}`)));
    this.child.on('exit', (code, signal) => this.fail(new Error(`cluster feed exited (${signal ?? `code ${code}`})`)));
  }

  /** Resolves once the child has generated the cluster and rendered the list pages (its first line). */
  async ready(): Promise<void> {
    await this.read();
  }

  /** A page of the list of `kind`: the first one for an empty `continueToken`, else the one the previous page's metadata.continue names. */
  listPage(kind: ListedKind, continueToken: string): Promise<Received> {
    return this.ask(continueToken === '' ? `list ${kind}` : `list ${kind} ${continueToken}`);
  }

  private read(): Promise<Received> {
    const ready = this.lines.shift();
    if (ready) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The next change, as a watch event's bytes. */
  change(): Promise<Received> {
    return this.ask('change');
  }

  /** Entries in the maps pinned under `root`, read by the child. */
  async mapCounts(root: string): Promise<MapCounts> {
    return JSON.parse((await this.ask(`maps ${root}`)).bytes.toString()) as MapCounts;
  }

  /** The maps follow the changes so far, checked by the child. */
  async followCheck(root: string): Promise<FollowCheck> {
    return JSON.parse((await this.ask(`follow ${root}`)).bytes.toString()) as FollowCheck;
  }

  private ask(command: string): Promise<Received> {
    this.child.stdin.write(`${command}\n`);
    return this.read();
  }

  close(): void {
    this.child.removeAllListeners('exit');
    this.child.stdin.end();
  }

  private onData(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl >= 0; nl = chunk.indexOf(NEWLINE, start)) {
      this.partial.push(chunk.subarray(start, nl));
      const bytes = this.partial.length === 1 ? this.partial[0] as Buffer : Buffer.concat(this.partial);
      this.partial = [];
      start = nl + 1;
      const line = { bytes, at: performance.now() };
      const w = this.waiters.shift();
      if (w) w.resolve(line);
      else this.lines.push(line);
    }
    if (start < chunk.length) this.partial.push(chunk.subarray(start));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiters.splice(0)) w.reject(e);
  }
}
