/**
 * The socket LB's maps in an upgrade across layouts: per-socket storage
 * (lb4_sock_peer) cannot be walked from userspace, so a changed layout starts
 * it empty (said in the report) instead of failing the takeover; removing the
 * old layout leaves `<root>/links` (the cgroup links are no layout's).
 */
import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { LayoutUpgrade } from '../../src/agent/upgrade.js';
import { BpfObjectFile, buildLayout, datapathObjects, layoutDir, layoutDirs, native, type BuildLayout } from '../../src/bpf/index.js';
import { tempPinRoot } from '../helpers/bpffs.js';
import { requireRoot } from '../helpers/root.js';

const PEER = 'lb4_sock_peer';

function loadAll(pinRoot: string): void {
  for (const p of Object.values(datapathObjects())) BpfObjectFile.load(p, { pinRoot }).close();
}

function mapId(path: string): number {
  const fd = native().objGet(path);
  try {
    return native().mapInfo(fd).id;
  } finally {
    native().closeFd(fd);
  }
}

test('a changed lb4_sock_peer starts empty and is reported; the old pins go, <root>/links stays', (t) => {
  requireRoot(t);
  const root = tempPinRoot(t);
  // The running build: maps pinned directly under the root, a link pin beside them.
  loadAll(root);
  mkdirSync(join(root, 'links'));
  const linkStandIn = join(root, 'links', 'sock_connect4');
  const fd = native().objGet(join(root, PEER));
  native().objPin(fd, linkStandIn);
  native().closeFd(fd);
  const oldPeer = mapId(join(root, PEER));

  // This build, as if lb4_sock_peer's layout had changed (its flags here).
  const base = buildLayout(Object.values(datapathObjects()));
  const changed: BuildLayout = { ...base, maps: base.maps.map((m) => (m.name === PEER ? { ...m, flags: m.flags ^ 0x8000 } : m)) };
  const mine = layoutDir(root, changed.id);
  mkdirSync(mine);
  const upgrade = LayoutUpgrade.prepare(layoutDirs(root), mine, changed, pino({ level: 'silent' }));
  if (!upgrade) throw new Error('nothing to upgrade from');
  loadAll(mine);
  const reports = upgrade.carry();

  const peer = reports.find((r) => r.map === PEER);
  t.is(peer?.how, 'not carried');
  t.regex(peer?.why ?? '', /per-socket storage cannot be read from userspace: starts empty/);
  t.not(mapId(join(mine, PEER)), oldPeer, 'a new, empty map');
  t.is(reports.find((r) => r.map === 'lb4_sock_revnat')?.how, 'shared', 'the socket LB\'s LRU table of an unchanged layout is shared');

  upgrade.afterSwap();
  t.false(existsSync(join(root, PEER)), 'the old layout\'s pins are removed');
  t.true(existsSync(linkStandIn), '<root>/links is left alone');
  t.deepEqual(layoutDirs(root), [mine]);
});
