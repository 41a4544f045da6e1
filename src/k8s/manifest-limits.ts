/**
 * Bounded reading of one manifest file for the live source: a file larger
 * than `maxFileBytes` is never read, one with more than `maxObjects` objects
 * is refused as a whole (counted document by document, so a file of many
 * documents is refused before the rest of it is read), and YAML documents are
 * read one at a time with a turn of the event loop between every few, so
 * /healthz and the metrics keep answering while a big file is parsed (one
 * document, e.g. a List of thousands of objects, is read at once: ~0.1 s per MB).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { addParsedDocument, manifestDocuments, type ManifestParseResult, type Sink } from './manifests.js';

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

export async function parseManifestBounded(text: string, file: string, limits: ManifestLimits): Promise<BoundedParse> {
  const size = tooLarge(Buffer.byteLength(text), limits);
  if (size) return { ok: false, reason: size };
  const out: Sink = { objects: [], errors: [], notices: [] };
  let documentIndex = 0;
  for (const doc of manifestDocuments(text, file)) {
    addParsedDocument(out, doc, { file, documentIndex });
    const count = out.objects.length + out.errors.length;
    if (count > limits.maxObjects) return { ok: false, reason: tooMany(count, limits) };
    documentIndex++;
    if (documentIndex % DOCUMENTS_PER_TURN === 0) await nextTurn();
  }
  return { ok: true, result: out };
}
