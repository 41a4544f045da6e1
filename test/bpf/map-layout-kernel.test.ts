/**
 * The layout read from an object's BTF before load is the one the kernel
 * reports for the maps it created (so an unchanged map is recognised and
 * shared at an upgrade); the layout directory in use is the one the attached
 * program reads.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  BpfObjectFile, buildLayout, currentOf, datapathObjects, layoutDirs, MapType, pinnedMapLayout, sameMapLayout,
} from '../../src/bpf/index.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

test('every map the kernel created has the layout the object\'s BTF gave before load', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const objects = datapathObjects();
  const paths = Object.values(objects);
  const layout = buildLayout(paths);
  const loaded = paths.map((p) => BpfObjectFile.load(p, { pinRoot: root }));
  try {
    // Not compared: a map-in-map (the kernel does not report its inner template) and `stats`, whose enum key
    // the kernel refuses as an array index type, so libbpf creates it without BTF (it is never shared: counters start again).
    const compared = layout.maps.filter((m) => m.type !== MapType.HASH_OF_MAPS && m.type !== MapType.ARRAY_OF_MAPS && m.type !== MapType.PERCPU_ARRAY);
    for (const m of compared) t.true(sameMapLayout(pinnedMapLayout(join(root, m.name), m.name), m), m.name);
    t.true(compared.length >= 12);
    // The socket LB's own maps are part of the layout (per-socket storage included) and recognised after load.
    for (const name of ['lb4_sock_revnat', 'lb4_sock_peer']) t.true(compared.some((m) => m.name === name), name);
  } finally {
    for (const o of loaded) o.close();
  }
});

test('of several layout directories, the newest is current when no program uses any', async (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  const dirs = ['v000000000001', 'v000000000002'].map((d) => join(root, d));
  for (const d of dirs) {
    mkdirSync(d);
    BpfObjectFile.load(datapathObjects().tcRevnat, { pinRoot: d }).close();
    await new Promise((r) => setTimeout(r, 20)); // distinct creation times
  }
  mkdirSync(join(root, 'v000000000003')); // created, never loaded: no layout in it
  t.deepEqual(layoutDirs(root), dirs);
  t.is(currentOf(dirs), dirs[1]);
  t.is(currentOf([dirs[0] ?? '']), dirs[0]);
  t.is(currentOf([]), undefined);
});
