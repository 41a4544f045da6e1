/**
 * Map layouts (src/bpf/layout.ts): the identity changes with any struct,
 * size, flag or type change and with nothing else; entries are translated by
 * BTF member names.
 */
import test from 'ava';
import { layoutId, sameMapLayout, translation, type MapLayout, type TypeLayout } from '../../src/bpf/layout.js';

const u16: TypeLayout = { kind: 'int', name: 'unsigned short', size: 2 };
const u32: TypeLayout = { kind: 'int', name: 'unsigned int', size: 4 };
const u64: TypeLayout = { kind: 'int', name: 'unsigned long long', size: 8 };

function struct(name: string, members: [string, number, TypeLayout][], size: number): TypeLayout {
  return { kind: 'struct', name, size, members: members.map(([n, offset, type]) => ({ name: n, offset, type })) };
}

const flow = struct('lb4_flow', [['backend_id', 0, u32], ['service_id', 4, u32], ['revnat_id', 8, u16], ['pad', 10, u16]], 12);
/** The same struct with a member in front: every member moves. */
const flowPadded = struct('lb4_flow', [['layout_test', 0, u64], ['backend_id', 8, u32], ['service_id', 12, u32], ['revnat_id', 16, u16], ['pad', 18, u16]], 20);

function map(value: TypeLayout, over: Partial<MapLayout> = {}): MapLayout {
  return { name: 'lb4_flows', type: 9, keySize: 4, valueSize: value.size, maxEntries: 1024, flags: 0, key: u32, value, inner: null, ...over };
}

test('the layout id is stable, ignores map order, and changes with a struct, a size, a flag, a type or an inner template', (t) => {
  const other = map(u32, { name: 'lb4_backends', type: 2 });
  const base = layoutId([map(flow), other]);
  t.is(base, layoutId([other, map(flow)]));
  t.regex(base, /^[0-9a-f]{12}$/);
  const variants = [
    [map(flowPadded), other],
    [map(flow, { maxEntries: 2048 }), other],
    [map(flow, { flags: 1 }), other],
    [map(flow, { type: 1 }), other],
    [map(flow, { inner: '2/4/64/4096' }), other],
    [map(struct('lb4_flow', [['backend', 0, u32], ['service_id', 4, u32], ['revnat_id', 8, u16], ['pad', 10, u16]], 12)), other],
    [map(flow)],
  ];
  const ids = variants.map((v) => layoutId(v));
  t.false(ids.includes(base));
  t.is(new Set(ids).size, ids.length);
});

test('sameMapLayout: the name and a pinned map\'s id do not count, the layout does', (t) => {
  t.true(sameMapLayout(map(flow), { ...map(flow, { name: 'x' }), id: 7 } as MapLayout));
  t.false(sameMapLayout(map(flow), map(flowPadded)));
  t.false(sameMapLayout(map(flow), map(flow, { maxEntries: 1 })));
});

test('identical layouts copy the bytes', (t) => {
  const tr = translation(flow, flow, 12, 12);
  t.truthy(tr);
  t.true(tr?.identical);
  const from = Buffer.from('0102030405060708090a0b0c', 'hex');
  const to = Buffer.alloc(12);
  tr?.apply(from, 0, to, 0);
  t.deepEqual(to, from);
});

function encodeFlow(layout: TypeLayout, v: Record<string, number>): Buffer {
  const b = Buffer.alloc(layout.size);
  for (const m of layout.members ?? []) {
    const x = v[m.name] ?? 0;
    if (m.type.size === 2) b.writeUInt16LE(x, m.offset);
    else if (m.type.size === 4) b.writeUInt32LE(x, m.offset);
    else b.writeBigUInt64LE(BigInt(x), m.offset);
  }
  return b;
}

test('a struct whose members moved is translated by name, both ways: new members zero, removed ones dropped', (t) => {
  const up = translation(flow, flowPadded, 12, 20);
  t.false(up?.identical);
  t.deepEqual(up?.zeroed, ['layout_test']);
  t.deepEqual(up?.dropped, []);
  const old = encodeFlow(flow, { backend_id: 17, service_id: 5, revnat_id: 9 });
  // At an offset inside larger buffers, as batches hold them.
  const src = Buffer.concat([Buffer.alloc(3, 0xee), old]);
  const out = Buffer.alloc(25);
  up?.apply(src, 3, out, 5);
  t.deepEqual(out.subarray(5), encodeFlow(flowPadded, { backend_id: 17, service_id: 5, revnat_id: 9 }));
  t.deepEqual(out.subarray(0, 5), Buffer.alloc(5));

  const down = translation(flowPadded, flow, 20, 12);
  t.deepEqual(down?.dropped, ['layout_test']);
  t.deepEqual(down?.zeroed, []);
  const back = Buffer.alloc(12);
  down?.apply(encodeFlow(flowPadded, { layout_test: 99, backend_id: 17, service_id: 5, revnat_id: 9 }), 0, back, 0);
  t.deepEqual(back, old);
});

test('an integer member that grew is widened; one that shrank, or changed kind, is zeroed', (t) => {
  const narrow = struct('s', [['a', 0, u16], ['b', 2, u16]], 4);
  const wide = struct('s', [['a', 0, u32], ['b', 4, u32]], 8);
  const up = translation(narrow, wide, 4, 8);
  const out = Buffer.alloc(8);
  up?.apply(Buffer.from([0x34, 0x12, 0x78, 0x56]), 0, out, 0);
  t.deepEqual(out, Buffer.from([0x34, 0x12, 0, 0, 0x78, 0x56, 0, 0]));
  t.deepEqual(translation(wide, narrow, 8, 4)?.zeroed, ['a', 'b']);
  const kind = struct('s', [['a', 0, { kind: 'array', name: '', size: 4, elem: u16, count: 2 }], ['b', 4, u32]], 8);
  t.deepEqual(translation(wide, kind, 8, 8)?.zeroed, ['a']);
});

test('nested structs and arrays are translated member by member', (t) => {
  const inner = struct('in', [['x', 0, u16], ['y', 2, u16]], 4);
  const innerMoved = struct('in', [['y', 0, u16], ['x', 2, u16]], 4);
  const from = struct('o', [['v', 0, { kind: 'array', name: '', size: 8, elem: inner, count: 2 }]], 8);
  const to = struct('o', [['v', 0, { kind: 'array', name: '', size: 12, elem: innerMoved, count: 3 }]], 12);
  const out = Buffer.alloc(12);
  translation(from, to, 8, 12)?.apply(Buffer.from([1, 0, 2, 0, 3, 0, 4, 0]), 0, out, 0);
  t.deepEqual(out, Buffer.from([2, 0, 1, 0, 4, 0, 3, 0, 0, 0, 0, 0]));
});

test('without BTF on a side, equal sizes are copied and different sizes are not carried', (t) => {
  t.true(translation(null, null, 4, 4)?.identical);
  t.true(translation(u32, null, 4, 4)?.identical);
  t.is(translation(null, u32, 8, 4), undefined);
  t.is(translation(u32, struct('s', [['a', 0, u16]], 2), 4, 2), undefined, 'an int becoming a struct has nothing in common');
});
