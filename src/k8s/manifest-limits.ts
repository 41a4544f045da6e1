/**
 * Bounded reading of one manifest file for the live source: a file larger
 * than `maxFileBytes` is never read, one with more than `maxObjects` objects
 * is refused as a whole (before its objects are built, where the count is
 * visible: a List's items), and YAML documents are composed one at a time
 * with a turn of the event loop between them, so /healthz and the metrics
 * keep answering while a big file is parsed.
 */
import { extname } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Composer, isMap, isSeq, LineCounter, Parser, type Document } from 'yaml';
import { addYamlDocument, parseManifestText, type ManifestParseResult, type Sink } from './manifests.js';

export interface ManifestLimits {
  readonly maxFileBytes: number;
  readonly maxObjects: number;
}

/** 8 MiB holds tens of thousands of ordinary objects; 20,000 objects is far beyond a usual file. */
export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = { maxFileBytes: 8 * 1024 * 1024, maxObjects: 20_000 };

/** Documents composed between two turns of the event loop. */
const DOCUMENTS_PER_TURN = 64;

export type BoundedParse = { readonly ok: true; readonly result: ManifestParseResult } | { readonly ok: false; readonly reason: string };

export function tooLarge(bytes: number, limits: ManifestLimits): string | undefined {
  if (bytes <= limits.maxFileBytes) return undefined;
  return `${bytes} bytes is more than --manifests-max-file-bytes ${limits.maxFileBytes}: the file is not read`;
}

function tooMany(count: number, limits: ManifestLimits): string {
  return `more than --manifests-max-objects ${limits.maxObjects} objects (${count} so far): the file is refused`;
}

/** Objects a composed document will give (a List's items), without building them. */
function objectsIn(doc: Document.Parsed): number {
  if (!isMap(doc.contents)) return doc.contents === null ? 0 : 1;
  const kind: unknown = doc.contents.get('kind');
  const items = doc.contents.get('items', true);
  return typeof kind === 'string' && kind.endsWith('List') && isSeq(items) ? items.items.length : 1;
}

/** Adds the error's line and column (parseAllDocuments would prettify it; the streaming composer does not). */
function located(doc: Document.Parsed, lines: LineCounter): Document.Parsed {
  for (const e of doc.errors) {
    const at = lines.linePos(e.pos[0]);
    e.message = `${e.message.split('\n')[0] ?? ''} at line ${at.line}, column ${at.col}`;
  }
  return doc;
}

export async function parseManifestBounded(text: string, file: string, limits: ManifestLimits): Promise<BoundedParse> {
  const size = tooLarge(Buffer.byteLength(text), limits);
  if (size) return { ok: false, reason: size };
  if (extname(file).toLowerCase() === '.json') {
    const result = parseManifestText(text, file);
    const count = result.objects.length + result.errors.length;
    return count > limits.maxObjects ? { ok: false, reason: tooMany(count, limits) } : { ok: true, result };
  }
  const out: Sink = { objects: [], errors: [], notices: [] };
  const lines = new LineCounter();
  let count = 0;
  let documentIndex = 0;
  for (const doc of new Composer().compose(new Parser(lines.addNewLine).parse(text))) {
    count += objectsIn(doc);
    if (count > limits.maxObjects) return { ok: false, reason: tooMany(count, limits) };
    addYamlDocument(out, located(doc, lines), { file, documentIndex });
    documentIndex++;
    if (documentIndex % DOCUMENTS_PER_TURN === 0) await nextTurn();
  }
  return { ok: true, result: out };
}
