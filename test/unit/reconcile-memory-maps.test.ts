/**
 * The in-memory maps behave like the kernel's where the reconciler can tell
 * (src/reconcile/maps/memory-maps.ts), and the failing wrapper fails the call
 * it is told to, the way a kernel map does.
 */
import test from 'ava';
import { BpfError } from '../../src/bpf/errors.js';
import { FailingMaps } from '../../src/reconcile/maps/failing-maps.js';
import { MemoryArray, MemoryHash, MemoryMaps } from '../../src/reconcile/maps/memory-maps.js';
import { TableBuffer } from '../../src/reconcile/table-buffer.js';
import { seededRandom } from '../helpers/rng.js';

test('a hash refuses a new key once full (E2BIG), still takes updates of its keys, and copies values', (t) => {
  const h = new MemoryHash<number, { v: number }>('h', 2, String);
  h.update(1, { v: 1 });
  h.update(2, { v: 2 });
  t.throws(() => h.update(3, { v: 3 }), { instanceOf: BpfError, code: 'ERR_BPF_E2BIG' });
  h.update(2, { v: 20 });
  const got = h.lookup(2) as { v: number };
  got.v = 99;
  t.deepEqual(h.lookup(2), { v: 20 });
  t.false(h.delete(7));
  t.is(h.deleteBatch([1, 7]), 1);
});

test('an array has every index: free ones read as zero, past the end is E2BIG, deleting is EINVAL', (t) => {
  const a = new MemoryArray<number>('a', 4, 0);
  t.is(a.lookup(3), 0);
  t.is(a.lookup(4), undefined);
  t.throws(() => a.update(4, 1), { code: 'ERR_BPF_E2BIG' });
  t.throws(() => a.delete(1), { code: 'ERR_BPF_EINVAL' });
  t.is(a.entries().length, 4);
});

test('a batch that fails leaves the entries before the failing one written', (t) => {
  const h = new MemoryHash<number, number>('h', 2, String);
  t.throws(() => h.updateBatch([[1, 1], [2, 2], [3, 3]]), { code: 'ERR_BPF_E2BIG' });
  t.deepEqual(h.entries(), [[1, 1], [2, 2]]);
});

test('lb4_maglev: an inner table lives while the outer map or a handle holds it; capacity and in-place writes are bounded', (t) => {
  const m = new MemoryMaps().maglev;
  const table = new TableBuffer(31);
  table.slots.fill(5);
  const h = m.create(1, table, 4);
  t.is(m.capacity(1, h), 4);
  m.swap([[1, h]]);
  m.close(h);
  t.is(m.tables, 1);
  const id = m.lookup(1) as number;
  const again = m.open(1, id);
  t.is(m.read(1, again, 31).slots[30], 5);
  t.throws(() => m.write(1, again, new TableBuffer(80), [4]), { code: 'ERR_BPF_E2BIG' });
  m.delete([1, 2]);
  t.is(m.tables, 1, 'the open handle keeps it');
  m.close(again);
  t.is(m.tables, 0);
  t.throws(() => m.open(1, id), { code: 'ERR_BPF_ENOENT' });
});

test('the failing wrapper fails the N-th write, or random ones from a seeded generator, with the errno asked for', (t) => {
  const maps = new FailingMaps(new MemoryMaps(), { failAt: 2, errno: 'ENOSPC' });
  maps.nodes.update(1, { address: '198.51.100.1' });
  t.throws(() => maps.nodes.updateBatch([[2, { address: '198.51.100.2' }], [3, { address: '198.51.100.3' }]]), { code: 'ERR_BPF_ENOSPC' });
  t.deepEqual(maps.inner.nodes.keys(), [1, 2], 'half the batch went in, as the kernel would have');
  t.is(maps.lastFailure, 'nodes.updateBatch #2');
  maps.nodes.lookup(1);
  t.is(maps.calls, 2, 'reads are not counted unless asked');

  const pattern = (seed: number): boolean[] => {
    const m = new FailingMaps(new MemoryMaps(), { probability: 0.3, random: seededRandom(seed), only: 'all' });
    return Array.from({ length: 40 }, () => {
      try {
        m.revnat.lookup(1);
        return false;
      } catch {
        return true;
      }
    });
  };
  t.deepEqual(pattern(7), pattern(7), 'the same seed fails the same calls');
  t.true(pattern(7).includes(true));
});

test('lb4_revnat is an array read as a hash: a free id (port 0) reads as missing; a {0.0.0.0, nodePort} entry is live', (t) => {
  const r = new MemoryMaps().revnat;
  t.is(r.lookup(5), undefined);
  r.updateBatch([[5, { address: '10.96.0.10', port: 80 }], [6, { address: '0.0.0.0', port: 30080 }]]);
  t.deepEqual(r.lookup(6), { address: '0.0.0.0', port: 30080 }, 'the socket LB\'s NodePort entry');
  t.deepEqual(r.keys(), [5, 6]);
  t.is(r.deleteBatch([5, 7]), 1, 'only a live id counts as deleted');
  t.false(r.delete(5));
  t.deepEqual(r.entries(), [[6, { address: '0.0.0.0', port: 30080 }]]);
  t.throws(() => r.update(r.maxEntries, { address: '10.96.0.11', port: 80 }), { code: 'ERR_BPF_E2BIG' });
});

test('lb4_maglev and lb4_maglev_prev are arrays of maps: a service id past the end is E2BIG, however empty they are', (t) => {
  const m = new MemoryMaps({ maxServices: 8 }).maglev;
  const h = m.create(8, new TableBuffer(31), 2);
  t.throws(() => m.swap([[8, h]]), { code: 'ERR_BPF_E2BIG' });
  t.throws(() => m.putPrev([[8, h, 31]]), { code: 'ERR_BPF_E2BIG' });
  m.swap([[7, h]]);
  m.close(h);
  t.deepEqual(m.keys(), [7]);
});
