/**
 * Reading map layouts: a build's from its object files' BTF (before load,
 * so the layout can decide where the maps are pinned), a pinned map's from
 * the kernel; and the layout directories under a bpffs root.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { call } from './errors.js';
import { layoutId, type MapLayout } from './layout.js';
import { native } from './native.js';
import { links } from './netdev.js';
import { BpfObjectFile } from './object.js';
import { xdpAttachment } from './program.js';

/** The maps of a build (the objects that share its pins), each once, by name; `maxEntries` overrides sizes as the load will. */
export function objectMapLayouts(paths: readonly string[], maxEntries: Readonly<Record<string, number>> = {}): MapLayout[] {
  const out = new Map<string, MapLayout>();
  for (const path of paths) {
    const obj = BpfObjectFile.open(path);
    try {
      const descs = obj.mapDescriptions();
      for (const l of obj.mapLayouts()) {
        const d = descs.find((x) => x.name === l.name);
        if (!d || out.has(l.name)) continue;
        out.set(l.name, {
          name: l.name, type: d.type, keySize: d.keySize, valueSize: d.valueSize, maxEntries: maxEntries[l.name] ?? d.maxEntries, flags: d.flags,
          key: l.key, value: l.value, inner: l.inner,
        });
      }
    } finally {
      obj.close();
    }
  }
  return [...out.values()];
}

/** A build's layout: its maps and their identity. */
export interface BuildLayout { readonly id: string; readonly maps: readonly MapLayout[] }

export function buildLayout(paths: readonly string[], maxEntries: Readonly<Record<string, number>> = {}): BuildLayout {
  const maps = objectMapLayouts(paths, maxEntries);
  return { id: layoutId(maps), maps };
}

/** The layout of the map pinned at `path` (a map-in-map's inner template is not readable: null) and its id. */
export function pinnedMapLayout(path: string, name: string): MapLayout & { readonly id: number } {
  const fd = call(path, () => native().objGet(path));
  try {
    const i = call(path, () => native().mapInfo(fd));
    const b = call(path, () => native().mapBtfLayout(fd));
    return {
      id: i.id, name, type: i.type, keySize: i.keySize, valueSize: i.valueSize, maxEntries: i.maxEntries, flags: i.flags,
      key: b.key, value: b.value, inner: null,
    };
  } finally {
    native().closeFd(fd);
  }
}

/** `<root>/v<id>`: where a layout's maps are pinned. */
export function layoutDir(root: string, id: string): string {
  return join(root, `v${id}`);
}

const LAYOUT_DIR = /^v[0-9a-f]{12}$/;

/** A `v<id>` directory name. */
export function isLayoutDirName(name: string): boolean {
  return LAYOUT_DIR.test(name);
}
/** A pin every layout has: marks a directory (or an unversioned root) as holding maps. */
const MARKER_MAP = 'lb4_services';

/**
 * Directories under `root` holding a layout's maps: `v<id>` directories, and
 * `root` itself when maps are pinned directly in it (builds from before the
 * layout was versioned). A directory without the marker map (an agent
 * stopped between creating it and loading) holds no usable layout.
 */
export function layoutDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && isLayoutDirName(e.name)).map((e) => join(root, e.name));
  if (existsSync(join(root, MARKER_MAP))) dirs.push(root);
  return dirs.filter((d) => existsSync(join(d, MARKER_MAP)));
}

/** Ids of the maps used by the XDP programs attached in this network namespace. */
function attachedMapIds(): Set<number> {
  const ids = new Set<number>();
  for (const { ifindex } of links()) {
    const { progId } = xdpAttachment(ifindex);
    if (!progId) continue;
    try {
      const fd = native().progFdById(progId);
      try {
        for (const id of native().progInfo(fd).mapIds) ids.add(id);
      } finally {
        native().closeFd(fd);
      }
    } catch { /* detached meanwhile */ }
  }
  return ids;
}

function pinnedId(path: string): number | undefined {
  try {
    return pinnedMapLayout(path, MARKER_MAP).id;
  } catch {
    return undefined;
  }
}

/**
 * Of several layout directories, the one in use: whose maps the attached
 * programs read, else the most recently created one. Undefined when none.
 */
export function currentOf(dirs: readonly string[]): string | undefined {
  if (dirs.length <= 1) return dirs[0];
  const attached = attachedMapIds();
  const inUse = dirs.find((d) => {
    const id = pinnedId(join(d, MARKER_MAP));
    return id !== undefined && attached.has(id);
  });
  if (inUse) return inUse;
  const born = (d: string): number => {
    const s = statSync(join(d, MARKER_MAP));
    return s.birthtimeMs || s.mtimeMs;
  };
  return [...dirs].sort((a, b) => born(b) - born(a))[0];
}

/**
 * Where the maps under a bpffs root are for a reader (lbctl, the lab): the
 * layout in use, or `root` itself when none is pinned (the reader then says
 * what is missing).
 */
export function currentLayoutDir(root: string): string {
  return currentOf(layoutDirs(root)) ?? root;
}
