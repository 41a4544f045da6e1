/**
 * The Maglev table builder: tables built on its worker thread are exactly the
 * tables maglevTable builds on the calling thread, whoever builds each one;
 * and a worker that fails, stalls or is gone never hangs a build.
 */
import test from 'ava';
import { DsrlbError } from '../../src/errors.js';
import { MaglevTableBuilder, type TableJob } from '../../src/reconcile/maglev-builder.js';
import { maglevTableOf, maglevTableSize } from '../../src/reconcile/maglev.js';
import { seededRandom } from '../helpers/rng.js';

/** Random tables: 1 to 300 backends, names in no particular order (some not ASCII), sizes from the ladder. */
function randomJobs(count: number, seed: number): TableJob[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, t) => {
    const n = 1 + Math.floor(random() ** 3 * 300);
    const first = Math.floor(random() * 60000);
    const names = Array.from({ length: n }, (_, k) => ({ name: `${t % 7 === 0 ? 'ü-' : ''}198.18.${((first + k) >> 8) & 255}.${(first + k) & 255}:${8000 + t}` }))
      .sort(() => random() - 0.5);
    const ids = Uint32Array.from({ length: n }, () => 1 + Math.floor(random() * 0xfffffffe));
    return { names, ids, size: maglevTableSize(n) };
  });
}

/** Every table of a build, copied out (a stream's table is valid until the next one). */
function buildAll(builder: MaglevTableBuilder, jobs: readonly TableJob[]): Uint32Array[] {
  const stream = builder.build(jobs);
  try {
    return jobs.map(() => {
      const table = stream.next();
      // The padding past M holds slot 0's backend, as in a table built inline.
      assertPadding(table.bytes(), table.size);
      return table.slots.slice();
    });
  } finally {
    stream.close();
  }
}

function assertPadding(bytes: Buffer, size: number): void {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  for (let i = size; i < words.length; i++) if (words[i] !== words[0]) throw new Error(`padding slot ${i} is not slot 0's backend`);
}

function expected(jobs: readonly TableJob[]): Uint32Array[] {
  return jobs.map((j) => maglevTableOf(j.names, j.ids, j.size));
}

test('tables built on the worker thread alone equal the tables built inline', async (t) => {
  const builder = new MaglevTableBuilder({ workerFrom: 1, help: false });
  t.teardown(() => builder.close());
  t.is(await builder.startWorker(), null);
  const jobs = randomJobs(200, 1);
  t.deepEqual(buildAll(builder, jobs), expected(jobs));
});

test('with the calling thread helping, every table is still the inline one', async (t) => {
  const builder = new MaglevTableBuilder({ workerFrom: 1 });
  t.teardown(() => builder.close());
  t.is(await builder.startWorker(), null);
  for (const seed of [2, 3]) {
    const jobs = randomJobs(300, seed);
    t.deepEqual(buildAll(builder, jobs), expected(jobs), `seed ${seed}`);
  }
});

test('more tables than the worker may run ahead by, and tables of several sizes in one build', async (t) => {
  const builder = new MaglevTableBuilder({ workerFrom: 1, help: false });
  t.teardown(() => builder.close());
  await builder.startWorker();
  const jobs = randomJobs(150, 4).concat(randomJobs(3, 5).map((j) => ({ ...j, size: 16336 })));
  t.deepEqual(buildAll(builder, jobs), expected(jobs));
});

test('a table the worker fails to build fails the build with its reason; the next build works', async (t) => {
  const builder = new MaglevTableBuilder({ workerFrom: 1, help: false });
  t.teardown(() => builder.close());
  await builder.startWorker();
  const jobs = randomJobs(3, 6);
  const bad = [jobs[0] as TableJob, { ...(jobs[1] as TableJob), size: 1000 }, jobs[2] as TableJob];
  const stream = builder.build(bad);
  t.notThrows(() => stream.next());
  const e = t.throws(() => stream.next(), { instanceOf: DsrlbError });
  t.is(e?.code, 'ERR_MAGLEV_WORKER');
  t.regex(e?.message ?? '', /table 1 .*worker thread: Maglev table size must be 1021 x 2\^k, got 1000/);
  stream.close();
  t.deepEqual(buildAll(builder, jobs), expected(jobs));
});

test('bad input is refused before the worker sees it', async (t) => {
  const builder = new MaglevTableBuilder({ workerFrom: 1, help: false });
  t.teardown(() => builder.close());
  await builder.startWorker();
  t.throws(() => builder.build([{ names: [{ name: 'a' }, { name: 'a' }], ids: [1, 2], size: 251 }]), { message: /duplicate.*'a'/ });
});

test('a worker that does not answer in time fails the build instead of hanging it; later builds run inline', async (t) => {
  // A million-slot table takes the worker far longer than 1 ms.
  const builder = new MaglevTableBuilder({ workerFrom: 1, help: false, stallMs: 1 });
  t.teardown(() => builder.close());
  await builder.startWorker();
  const names = Array.from({ length: 5000 }, (_, k) => ({ name: `198.18.${k >> 8}.${k & 255}:80` }));
  const stream = builder.build([{ names, ids: names.map((_, k) => k + 1), size: 1021 * 2 ** 9 }]);
  const e = t.throws(() => stream.next(), { instanceOf: DsrlbError });
  t.is(e?.code, 'ERR_MAGLEV_WORKER_STALLED');
  stream.close();
  const jobs = randomJobs(20, 7);
  t.deepEqual(buildAll(builder, jobs), expected(jobs));
});

test('without a worker (never started, or closed) every build runs inline', async (t) => {
  const jobs = randomJobs(40, 8);
  const never = new MaglevTableBuilder({ workerFrom: 1, help: false });
  t.deepEqual(buildAll(never, jobs), expected(jobs));
  const closed = new MaglevTableBuilder({ workerFrom: 1, help: false });
  await closed.startWorker();
  await closed.close();
  t.deepEqual(buildAll(closed, jobs), expected(jobs));
});
