/**
 * The Maglev tables of a sync, built on a worker thread while the main thread
 * creates inner maps and writes them, so the two overlap; the main thread
 * builds a table itself when it needs one the worker has not started on.
 * A cold start of 10,000 services builds 10,000 tables (~25 us each) and
 * creates as many inner maps (~15 us each, mostly in bpf()).
 *
 * The reconciler is synchronous, so during a build the threads share memory
 * instead of exchanging messages (the main thread does not get back to its
 * event loop until the sync is over). One message hands the worker a build's
 * SharedArrayBuffers; then each table has a status word that either side
 * claims with compare-and-swap, tables go out through a ring of RING slots
 * (the worker runs at most that far ahead of the main thread), and the main
 * thread waits (Atomics.wait) only for a table the worker is building.
 *
 * The worker is an eval'd script made of source text: fillTable and what it
 * calls (maglev.ts FILL_SOURCE) and tableWorker below. It loads no module,
 * so it runs the same code whether this module was compiled or transpiled on
 * load (tsx does not reach worker threads).
 *
 * Failures: a table the worker fails to build fails the build with the
 * worker's message, as it would have failed on the main thread; a worker
 * that stops answering fails it after STALL_MS instead of hanging it; a
 * worker that cannot start, or has exited, leaves the main thread building
 * every table (startWorker() resolves to the error).
 */
import { Worker } from 'node:worker_threads';
import { DSRLB_MAGLEV_SLOTS_PER_ENTRY } from '../bpf/consts.generated.js';
import { maglevElements } from '../bpf/codecs/maglev.js';
import { DsrlbError } from '../errors.js';
import { FILL_INPUT_WORDS, FILL_SOURCE, fillScratch, fillTable, maglevTableOf, writeFillInput } from './maglev.js';
import { TableBuffer } from './table-buffer.js';

/** One table to build: backend i is `names[i].name` with id `ids[i]`. */
export interface TableJob {
  readonly names: readonly { readonly name: string }[];
  readonly ids: ArrayLike<number>;
  readonly size: number;
}

/** The tables of a build, in job order. */
export interface TableStream {
  /** The next job's table, valid until the next call (or close). */
  next(): TableBuffer;
  /** Stops the worker's part of the build (call it whether or not every table was taken). */
  close(): void;
}

export interface TableBuilderOptions {
  /** Builds of fewer tables stay on the main thread (a worker round trip costs more than it saves). Default 32. */
  readonly workerFrom?: number;
  /** The main thread builds a table the worker has not started on when it needs it (default true; tests turn it off to make the worker build every table). */
  readonly help?: boolean;
  /** How long the main thread waits for one table the worker is building before it fails the build (default STALL_MS). */
  readonly stallMs?: number;
}

/** A table's state word. */
const STATE = { PENDING: 0, WORKER: 1, MAIN: 2, DONE: 3, FAILED: 4 } as const;
/** Words of the control array; the worker's error text follows them. */
const CTRL = { CONSUMED: 0, ABORT: 1, ERROR_LENGTH: 2, WORDS: 4, ERROR_BYTES: 1024 } as const;
/** Tables the worker may run ahead of the main thread (and output memory they may take). */
const RING = 64;
const RING_BYTES = 8 << 20;
const STALL_MS = 10_000;
/** A waiting main thread looks at the clock this often. */
const WAIT_SLICE_MS = 100;

/** What one build shares with the worker. */
interface SharedBuild {
  readonly count: number;
  readonly ctrl: Int32Array;
  readonly status: Int32Array;
  /** Per table: size, backends, where its fill input starts. */
  readonly jobs: Int32Array;
  readonly input: Uint32Array;
  readonly ring: Uint32Array;
  readonly ringTables: number;
  readonly slotWords: number;
}

function sharedInt32(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, length) * 4));
}

function sharedUint32(length: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(Math.max(1, length) * 4));
}

/**
 * The worker thread's side. Runs as source text in the worker: it may use
 * only globals, its argument, STATE and CTRL, and the functions of
 * FILL_SOURCE. Builds the tables of each build it is handed, in order, those
 * the main thread has not claimed.
 */
function tableWorker(port: import('node:worker_threads').MessagePort): void {
  const scratch = fillScratch();
  port.on('message', (b: SharedBuild) => {
    for (let i = 0; i < b.count; i++) {
      for (;;) {
        if (Atomics.load(b.ctrl, CTRL.ABORT) !== 0) return;
        const consumed = Atomics.load(b.ctrl, CTRL.CONSUMED);
        if (consumed > i - b.ringTables) break; // table i's ring slot is free
        Atomics.wait(b.ctrl, CTRL.CONSUMED, consumed, 1000);
      }
      if (Atomics.compareExchange(b.status, i, STATE.PENDING, STATE.WORKER) !== STATE.PENDING) continue;
      try {
        const at = (i % b.ringTables) * b.slotWords;
        fillTable(b.ring.subarray(at, at + b.slotWords), b.jobs[i * 3] as number, b.jobs[i * 3 + 1] as number, b.input,
          b.jobs[i * 3 + 2] as number, scratch);
        Atomics.store(b.status, i, STATE.DONE);
      } catch (e) {
        const text = new TextEncoder().encode(e instanceof Error ? e.message : String(e)).subarray(0, CTRL.ERROR_BYTES);
        new Uint8Array(b.ctrl.buffer, CTRL.WORDS * 4, CTRL.ERROR_BYTES).set(text);
        Atomics.store(b.ctrl, CTRL.ERROR_LENGTH, text.length);
        Atomics.store(b.status, i, STATE.FAILED);
      }
      Atomics.notify(b.status, i);
    }
  });
}

const WORKER_SOURCE = [
  '"use strict";',
  // Transpilers that keep function names (esbuild, under tsx) wrap named inner functions in __name().
  'const __name = (f) => f;',
  `const STATE = ${JSON.stringify(STATE)};`,
  `const CTRL = ${JSON.stringify(CTRL)};`,
  FILL_SOURCE,
  `(${String(tableWorker)})(require('node:worker_threads').parentPort);`,
].join('\n');

function tableError(job: number, message: string, code = 'ERR_MAGLEV_WORKER'): DsrlbError {
  return new DsrlbError(code, `building Maglev table ${job} of this sync failed: ${message}`, {
    subject: 'Maglev table builder', remedy: 'this is a bug in dsrlb: report it with the agent\'s log',
  });
}

export class MaglevTableBuilder {
  private readonly workerFrom: number;
  private readonly help: boolean;
  private readonly stallMs: number;
  private worker: Worker | undefined;
  private starting: Promise<Error | null> | undefined;
  private readonly scratch = fillScratch();

  constructor(options: TableBuilderOptions = {}) {
    this.workerFrom = Math.max(1, options.workerFrom ?? 32);
    this.help = options.help ?? true;
    this.stallMs = options.stallMs ?? STALL_MS;
  }

  /**
   * Starts the worker thread (once). Resolves when it runs, to null, or to
   * the error that stopped it; builds meanwhile and after a failure run on the
   * main thread. The thread never keeps the process alive.
   */
  startWorker(): Promise<Error | null> {
    if (this.starting) return this.starting;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    this.worker = worker;
    this.starting = new Promise((resolve) => {
      // Referenced until it runs, so that this promise settles; never after.
      worker.once('online', () => {
        worker.unref();
        resolve(null);
      });
      worker.once('error', (e) => {
        if (this.worker === worker) this.worker = undefined;
        resolve(e);
      });
      worker.once('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        resolve(new Error(`the Maglev worker thread exited (code ${code})`));
      });
    });
    return this.starting;
  }

  /** Stops the worker thread; builds after this run on the main thread. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  /** The tables of `jobs`, in order; a job that cannot be built throws when its table is taken. */
  build(jobs: readonly TableJob[]): TableStream {
    if (!this.worker || jobs.length < this.workerFrom) return inlineStream(jobs);
    return this.shared(jobs, this.worker);
  }

  private shared(jobs: readonly TableJob[], worker: Worker): TableStream {
    let inputWords = 0;
    let slotWords = 0;
    for (const j of jobs) {
      inputWords += j.names.length * FILL_INPUT_WORDS;
      slotWords = Math.max(slotWords, maglevElements(j.size) * DSRLB_MAGLEV_SLOTS_PER_ENTRY);
    }
    const ringTables = Math.max(1, Math.min(RING, jobs.length, Math.floor(RING_BYTES / (slotWords * 4))));
    const b: SharedBuild = {
      count: jobs.length,
      ctrl: sharedInt32(CTRL.WORDS + CTRL.ERROR_BYTES / 4),
      status: sharedInt32(jobs.length),
      jobs: sharedInt32(jobs.length * 3),
      input: sharedUint32(inputWords),
      ring: sharedUint32(ringTables * slotWords),
      ringTables,
      slotWords,
    };
    let at = 0;
    jobs.forEach((j, i) => {
      // Bad input (duplicate names, ids that are not u32) throws here, before the worker sees any of it.
      writeFillInput(j.names, j.ids, b.input, at);
      b.jobs[i * 3] = j.size;
      b.jobs[i * 3 + 1] = j.names.length;
      b.jobs[i * 3 + 2] = at;
      at += j.names.length * FILL_INPUT_WORDS;
    });
    worker.postMessage(b);
    let taken = 0;
    return {
      next: () => {
        const i = taken++;
        const job = jobs[i];
        if (!job) throw new RangeError(`table ${i} of a build of ${jobs.length}`);
        // Every table before i is done with: their ring slots may be reused.
        Atomics.store(b.ctrl, CTRL.CONSUMED, i);
        Atomics.notify(b.ctrl, CTRL.CONSUMED);
        this.obtain(b, i);
        const table = new TableBuffer(job.size, ringSlot(b, i));
        table.fillPadding();
        return table;
      },
      close: () => {
        Atomics.store(b.ctrl, CTRL.ABORT, 1);
        Atomics.notify(b.ctrl, CTRL.CONSUMED);
      },
    };
  }

  /**
   * Returns once table i is in its ring slot: built here if nobody has
   * started on it, else by the worker; while the worker builds it, this
   * thread builds tables further on. Throws the worker's error, or when the
   * worker takes longer than stallMs.
   */
  private obtain(b: SharedBuild, i: number): void {
    const deadline = performance.now() + this.stallMs;
    for (;;) {
      const state = Atomics.load(b.status, i);
      if (state === STATE.DONE) return;
      if (state === STATE.FAILED) {
        const text = new Uint8Array(b.ctrl.buffer, CTRL.WORDS * 4, Atomics.load(b.ctrl, CTRL.ERROR_LENGTH));
        throw tableError(i, `in the worker thread: ${new TextDecoder().decode(text)}`);
      }
      if (this.help && state === STATE.PENDING && this.claim(b, i)) return;
      if (this.help && state === STATE.WORKER && this.buildAhead(b, i)) continue;
      const left = deadline - performance.now();
      if (left <= 0) {
        void this.close();
        throw tableError(i, `the worker thread did not answer in ${this.stallMs} ms`, 'ERR_MAGLEV_WORKER_STALLED');
      }
      Atomics.wait(b.status, i, state, Math.min(WAIT_SLICE_MS, left));
    }
  }

  /** Builds table j here unless someone has claimed it; false when someone had. */
  private claim(b: SharedBuild, j: number): boolean {
    if (Atomics.compareExchange(b.status, j, STATE.PENDING, STATE.MAIN) !== STATE.PENDING) return false;
    fillTable(ringSlot(b, j), b.jobs[j * 3] as number, b.jobs[j * 3 + 1] as number, b.input, b.jobs[j * 3 + 2] as number, this.scratch);
    Atomics.store(b.status, j, STATE.DONE);
    return true;
  }

  /** Builds the first table after i that nobody has claimed and whose ring slot is free (i is being waited for); false when there is none. */
  private buildAhead(b: SharedBuild, i: number): boolean {
    const end = Math.min(b.count, i + b.ringTables);
    for (let j = i + 1; j < end; j++) if (this.claim(b, j)) return true;
    return false;
  }
}

function ringSlot(b: SharedBuild, i: number): Uint32Array {
  const at = (i % b.ringTables) * b.slotWords;
  return b.ring.subarray(at, at + b.slotWords);
}

/** A build on the main thread, one table at a time. */
function inlineStream(jobs: readonly TableJob[]): TableStream {
  let taken = 0;
  return {
    next: () => {
      const job = jobs[taken++];
      if (!job) throw new RangeError(`table ${taken - 1} of a build of ${jobs.length}`);
      const table = TableBuffer.scratch(job.size, 0);
      maglevTableOf(job.names, job.ids, job.size, table.slots);
      table.fillPadding();
      return table;
    },
    close: () => {},
  };
}
