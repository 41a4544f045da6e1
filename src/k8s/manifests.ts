/**
 * The manifests source's parser: YAML/JSON text (several documents per file,
 * `kind: List` and typed lists like ServiceList) -> validated, defaulted
 * Services, EndpointSlices and Nodes -> ClusterState. Errors are values
 * ({file, documentIndex, reason}); everything valid still counts.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { DsrlbError } from '../errors.js';
import { validateObject, type ValidObject } from './manifest-validate.js';
import { jsonDocument, yamlDocuments, type ParsedDocument, type TextPosition } from './manifest-yaml.js';
import type { ClusterState, V1EndpointSlice, V1Node, V1Service } from '../api/types.js';

export { validateEndpointSlice, validateNode, validateObject, validateService } from './manifest-validate.js';
export type { ObjectKind, ValidationResult, ValidObject } from './manifest-validate.js';

export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];

export interface ManifestLocation {
  readonly file: string;
  /** 0-based YAML document in the file; null when the whole file failed (unreadable). */
  readonly documentIndex: number | null;
  /** 0-based position in a List's items, when the object came from one. */
  readonly itemIndex?: number;
  /** 1-based line and column where the object starts (or of a YAML/JSON syntax error), when known. */
  readonly line?: number;
  readonly column?: number;
}

export interface ManifestError extends ManifestLocation {
  /** Kind and key ("namespace/name", Nodes: name) when known, so a live source can keep the last good version. */
  readonly kind: string | null;
  readonly key: string | null;
  readonly reason: string;
}

/**
 * Not an error, worth a warning: an ignored kind, a Service that will not be
 * proxied, a value read the lenient way kube-proxy reads it.
 */
export interface ManifestNotice extends ManifestLocation {
  readonly kind: string | null;
  readonly key: string | null;
  readonly message: string;
}

export type LocatedObject = ValidObject & ManifestLocation;

export interface ManifestParseResult {
  readonly objects: readonly LocatedObject[];
  readonly errors: readonly ManifestError[];
  readonly notices: readonly ManifestNotice[];
}

export interface ManifestSet extends ManifestParseResult {
  readonly state: ClusterState;
}

/** "file:LINE:COLUMN: document N[, item M]" (what is known of it) — for logs and stderr. */
export function formatLocation(loc: ManifestLocation): string {
  if (loc.documentIndex === null) return loc.file;
  const at = loc.line === undefined ? '' : `:${loc.line}${loc.column === undefined ? '' : `:${loc.column}`}`;
  return `${loc.file}${at}: document ${loc.documentIndex}${loc.itemIndex !== undefined ? `, item ${loc.itemIndex}` : ''}`;
}

export function formatManifestError(e: ManifestError): string {
  return `${formatLocation(e)}: ${oneLine(e.reason)}`;
}

export function formatManifestNotice(n: ManifestNotice): string {
  return `${formatLocation(n)}: ${oneLine(n.message)}`;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

/** The documents of one file's text: JSON (one document) when the name ends in .json, YAML otherwise. */
export function manifestDocuments(text: string, file: string): Iterable<ParsedDocument> {
  return extname(file).toLowerCase() === '.json' ? [jsonDocument(text)] : yamlDocuments(text);
}

/** Parses one file's text. */
export function parseManifestText(text: string, file: string): ManifestParseResult {
  const out: Sink = { objects: [], errors: [], notices: [] };
  let documentIndex = 0;
  for (const doc of manifestDocuments(text, file)) addParsedDocument(out, doc, { file, documentIndex: documentIndex++ });
  return out;
}

/** One parsed document into `out`: its objects, or why it does not parse. */
export function addParsedDocument(out: Sink, doc: ParsedDocument, loc: ManifestLocation): void {
  if (!doc.ok) {
    out.errors.push({ ...loc, ...doc.position, kind: null, key: null, reason: doc.reason });
    return;
  }
  addDocument(out, doc.value, loc, doc.positionOf);
}

export interface Sink { objects: LocatedObject[]; errors: ManifestError[]; notices: ManifestNotice[] }

type PositionOf = (itemIndex: number | undefined, required: boolean) => TextPosition | undefined;

const NO_POSITION: PositionOf = () => undefined;

export function addDocument(out: Sink, value: unknown, loc: ManifestLocation, positionOf: PositionOf = NO_POSITION): void {
  if (value === null || value === undefined) return; // an empty document ("---" twice)
  const rec = typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  const kind = rec?.['kind'];
  // `kind: List` (kubectl), or a typed list (ServiceList...) whose items carry no kind.
  if (rec && typeof kind === 'string' && kind.endsWith('List') && 'items' in rec) {
    const items = rec['items'];
    if (!Array.isArray(items)) {
      out.errors.push({ ...loc, ...positionOf(undefined, true), kind, key: null, reason: `${kind}: items is not a list` });
      return;
    }
    const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
    for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
      const item: unknown = items[itemIndex];
      const withKind = itemKind && item && typeof item === 'object' && !('kind' in item) ? { kind: itemKind, ...item } : item;
      addObject(out, withKind, { ...loc, itemIndex }, (required) => positionOf(itemIndex, required));
    }
    return;
  }
  addObject(out, value, loc, (required) => positionOf(undefined, required));
}

function addObject(out: Sink, value: unknown, loc: ManifestLocation, positionOf: (required: boolean) => TextPosition | undefined): void {
  const r = validateObject(value);
  if (r.status === 'invalid') {
    out.errors.push({ ...loc, ...positionOf(true), kind: r.kind, key: r.key, reason: r.reason });
    return;
  }
  if (r.status === 'ignored') {
    out.notices.push({ ...loc, ...positionOf(true), kind: r.kind, key: r.key, message: r.reason });
    return;
  }
  const { status: _status, warnings, ...obj } = r;
  const notice = noticeFor(obj);
  const at = { ...loc, ...positionOf(warnings.length > 0 || notice !== null) };
  out.objects.push({ ...obj, ...at });
  for (const w of warnings) out.notices.push({ ...at, kind: obj.kind, key: obj.key, message: `${obj.kind} ${obj.key}: ${w}` });
  if (notice) out.notices.push({ ...at, kind: obj.kind, key: obj.key, message: notice });
}

/** Valid, but probably not what the author meant: the API server would have filled these in. */
function noticeFor(obj: ValidObject): string | null {
  if (obj.kind === 'Service') {
    const spec = obj.object.spec ?? {};
    if (spec.type !== 'ExternalName' && !spec.clusterIP) {
      return `Service ${obj.key}: no spec.clusterIP, so it is not proxied (there is no API server here to allocate one)`;
    }
    const external = spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
    if (external && (spec.ports ?? []).some((p) => !p.nodePort)) {
      return `Service ${obj.key}: a port without spec.ports[].nodePort gets no NodePort frontend`;
    }
  }
  if (obj.kind === 'EndpointSlice' && !obj.object.metadata?.labels?.['kubernetes.io/service-name']) {
    return `EndpointSlice ${obj.key}: no kubernetes.io/service-name label, so it belongs to no Service`;
  }
  return null;
}

/**
 * Several files (in the order given): their objects as one ClusterState. An
 * object defined twice keeps its first definition; the later one is an error.
 */
export function parseManifests(files: readonly { readonly file: string; readonly text: string }[]): ManifestSet {
  const objects: LocatedObject[] = [];
  const errors: ManifestError[] = [];
  const notices: ManifestNotice[] = [];
  const seen = new Map<string, LocatedObject>();
  for (const { file, text } of files) {
    const r = parseManifestText(text, file);
    errors.push(...r.errors);
    notices.push(...r.notices);
    for (const o of r.objects) {
      const id = `${o.kind} ${o.key}`;
      const first = seen.get(id);
      if (first) {
        errors.push({ ...locationOf(o), kind: o.kind, key: o.key, reason: `${id}: defined twice; the definition in ${formatLocation(first)} is used` });
        continue;
      }
      seen.set(id, o);
      objects.push(o);
    }
  }
  return { state: clusterStateOf(objects), objects, errors, notices };
}

/** Where an object is, without the object. */
export function locationOf(o: ManifestLocation): ManifestLocation {
  return {
    file: o.file, documentIndex: o.documentIndex, ...(o.itemIndex !== undefined ? { itemIndex: o.itemIndex } : {}),
    ...(o.line !== undefined ? { line: o.line } : {}), ...(o.column !== undefined ? { column: o.column } : {}),
  };
}

export function clusterStateOf(objects: readonly ValidObject[]): ClusterState {
  const services = new Map<string, V1Service>();
  const endpointSlices = new Map<string, V1EndpointSlice>();
  const nodes = new Map<string, V1Node>();
  for (const o of objects) {
    if (o.kind === 'Service') services.set(o.key, o.object);
    else if (o.kind === 'EndpointSlice') endpointSlices.set(o.key, o.object);
    else nodes.set(o.key, o.object);
  }
  return { services, endpointSlices, nodes };
}

export interface ManifestDirListing {
  /** The manifest files, sorted by name. */
  readonly files: readonly string[];
  /** Subdirectories, which are not read (sorted; hidden ones, like a ConfigMap mount's `..data`, left out). */
  readonly subdirectories: readonly string[];
}

/** The manifest files of a directory (not its subdirectories), sorted by name. */
export async function listManifestDir(dir: string): Promise<ManifestDirListing> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DsrlbError('ERR_MANIFESTS_DIR', code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : `cannot read the directory (${code ?? String(e)})`, {
      subject: dir, remedy: 'pass --manifests DIR, a directory of YAML/JSON manifests', cause: e,
    });
  }
  const visible = entries.filter((e) => !e.name.startsWith('.'));
  const names = (list: typeof entries): string[] => list.map((e) => e.name).sort().map((name) => join(dir, name));
  return {
    files: names(visible.filter((e) => (e.isFile() || e.isSymbolicLink()) && MANIFEST_EXTENSIONS.includes(extname(e.name).toLowerCase()))),
    subdirectories: names(visible.filter((e) => e.isDirectory())),
  };
}

export async function listManifestFiles(dir: string): Promise<string[]> {
  return [...(await listManifestDir(dir)).files];
}

/** Reads every manifest file of `dir`. Throws only when the directory itself cannot be read. */
export async function loadManifestDir(dir: string): Promise<ManifestSet> {
  const listing = await listManifestDir(dir);
  const files: { file: string; text: string }[] = [];
  const unreadable: ManifestError[] = [];
  for (const file of listing.files) {
    try {
      files.push({ file, text: await readFile(file, 'utf8') });
    } catch (e) {
      unreadable.push({ file, documentIndex: null, kind: null, key: null, reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    }
  }
  const set = parseManifests(files);
  const skippedDirs: ManifestNotice[] = listing.subdirectories.map((file) => ({
    file, documentIndex: null, kind: null, key: null, message: 'a subdirectory: not read (only the directory\'s own .yaml, .yml and .json files are)',
  }));
  return { ...set, errors: [...unreadable, ...set.errors], notices: [...skippedDirs, ...set.notices] };
}
