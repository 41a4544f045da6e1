/**
 * A manifest file's text -> its documents as plain values, each able to say
 * where its objects start (1-based line and column).
 *
 * Fast path: the text is cut into documents at the `---` / `...` marker lines
 * (a line that starts with one can only be a marker in YAML), and each is
 * read with js-yaml's core schema, whose node events give the line of every
 * object down to the depth where manifests keep them (the document, a
 * List's items). A 5 MB `kubectl get -o yaml` dump reads in a fraction of a second;
 * yaml 2 took several seconds on it.
 *
 * A document js-yaml refuses is read again with yaml 2 alone, which says
 * precisely what is wrong and where (its LineCounter), so an error reads the
 * same as it always has; if yaml 2 accepts it after all, its value and node
 * ranges are used. JSON files are read with JSON.parse; the lines of their
 * objects are worked out only when one is asked for (a diagnostic), by
 * reading the text again with positions.
 */
import jsyaml from 'js-yaml';
import { createRequire } from 'node:module';
import type { Node as YamlNode } from 'yaml';

/** yaml 2, loaded the first time a document does not parse: `lbctl plan` on valid manifests starts ~40 ms sooner without it. */
let yaml2: typeof import('yaml') | undefined;
function loadYaml2(): typeof import('yaml') {
  yaml2 ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml2;
}

export interface TextPosition {
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly column: number;
}

export type ParsedDocument =
  | {
    readonly ok: true;
    readonly value: unknown;
    /**
     * Where the document's object starts, or its List's item `itemIndex`;
     * undefined when not known. Not `required`: only if it costs nothing more.
     */
    readonly positionOf: (itemIndex: number | undefined, required: boolean) => TextPosition | undefined;
  }
  | { readonly ok: false; readonly reason: string; readonly position: TextPosition | undefined };

interface Chunk {
  readonly text: string;
  /** 0-based line of the chunk's first character in the file. */
  readonly firstLine: number;
}

/** A line starting with `marker` followed by a blank or its end. */
function markerAt(text: string, pos: number, marker: string): boolean {
  if (!text.startsWith(marker, pos)) return false;
  const c = text.charCodeAt(pos + 3);
  return Number.isNaN(c) || c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** Blank, a comment, or a directive: nothing a document is made of. */
function isFiller(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0d) continue;
    return c === 0x23 || (c === 0x25 && i === start); // '#', or '%' at the start of the line
  }
  return true;
}

/**
 * The documents of a YAML stream, as yaml 2 counts them: a document is
 * explicit (starts with `---`, even if empty) or has content; comments and
 * directives before a `---` belong to the document it starts.
 */
export function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  let start = 0;
  let startLine = 0;
  let explicit = false;
  let content = false;
  let line = 0;
  for (let pos = 0; pos < text.length; line++) {
    const nl = text.indexOf('\n', pos);
    const end = nl < 0 ? text.length : nl + 1;
    if (markerAt(text, pos, '---')) {
      if (content || explicit) chunks.push({ text: text.slice(start, pos), firstLine: startLine });
      if (content || explicit || start === pos) {
        start = pos;
        startLine = line;
      }
      explicit = true;
      content = false;
    } else if (markerAt(text, pos, '...')) {
      if (content || explicit) chunks.push({ text: text.slice(start, end), firstLine: startLine });
      start = end;
      startLine = line + 1;
      explicit = false;
      content = false;
    } else if (!content && !isFiller(text, pos, end)) {
      content = true;
    }
    pos = end;
  }
  if (content || explicit) chunks.push({ text: text.slice(start), firstLine: startLine });
  return chunks;
}

// Object positions packed in one number: line * 2^20 + column (a manifest line is never a million characters).
const COLUMN_BITS = 2 ** 20;

function unpack(packed: number | undefined, firstLine: number): TextPosition | undefined {
  if (packed === undefined) return undefined;
  return { line: firstLine + Math.floor(packed / COLUMN_BITS) + 1, column: (packed % COLUMN_BITS) + 1 };
}

/**
 * js-yaml's nesting depth of a List's items: 3 in block style (document,
 * `items` value, item), one more for each flow collection wrapped in a block
 * node; 5 leaves room for flow style (JSON) throughout.
 */
const MAX_DEPTH = 5;

/** Parses one document, noting where each object down to a List's items starts. */
function loadWithPositions(text: string): { value: unknown; starts: Map<object, number> } {
  const starts = new Map<object, number>();
  const opened: number[] = new Array<number>(MAX_DEPTH + 1).fill(0);
  const value: unknown = jsyaml.load(text, {
    schema: jsyaml.CORE_SCHEMA,
    listener(event, state) {
      const depth = (state as jsyaml.State & { depth: number }).depth;
      if (depth > MAX_DEPTH) return;
      if (event === 'open') opened[depth] = state.line * COLUMN_BITS + (state.position - state.lineStart);
      else if (typeof state.result === 'object' && state.result !== null) starts.set(state.result as object, opened[depth] ?? 0);
    },
  });
  return { value, starts };
}

function itemOf(value: unknown, itemIndex: number | undefined): unknown {
  if (itemIndex === undefined) return value;
  const items = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['items'] : undefined;
  return Array.isArray(items) ? items[itemIndex] : undefined;
}

function fromJsYaml(chunk: Chunk): ParsedDocument {
  const { value, starts } = loadWithPositions(chunk.text);
  return {
    ok: true,
    value,
    positionOf: (itemIndex) => {
      const obj = itemOf(value, itemIndex);
      return typeof obj === 'object' && obj !== null ? unpack(starts.get(obj), chunk.firstLine) : undefined;
    },
  };
}

function firstLineOf(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/:$/, '').replace(/ at line \d+, column \d+$/, '');
}

/** yaml 2's reading of a document js-yaml refused: its error with line and column, or (rarely) the value after all. */
function fromYaml2(chunk: Chunk): ParsedDocument {
  const { isMap, isSeq, LineCounter, parseDocument } = loadYaml2();
  const lines = new LineCounter();
  const doc = parseDocument(chunk.text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number): TextPosition => {
    const p = lines.linePos(offset);
    return { line: chunk.firstLine + p.line, column: p.col };
  };
  const problem = doc.errors[0];
  if (problem) {
    const position = at(problem.pos[0]);
    return { ok: false, reason: `not valid YAML: ${firstLineOf(problem.message)}`, position };
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (e) {
    return { ok: false, reason: `not valid YAML: ${firstLineOf((e as Error).message)}`, position: undefined };
  }
  return {
    ok: true,
    value,
    positionOf: (itemIndex) => {
      let node: YamlNode | null | undefined = doc.contents;
      if (itemIndex !== undefined) {
        const items: unknown = isMap(node) ? node.get('items', true) : undefined;
        node = isSeq(items) ? (items.items[itemIndex] as YamlNode | undefined) : undefined;
      }
      return node?.range ? at(node.range[0]) : undefined;
    },
  };
}

/** The documents of a YAML file, one at a time (a caller may pause between them). */
export function* yamlDocuments(text: string): Generator<ParsedDocument> {
  for (const chunk of splitDocuments(text)) {
    let parsed: ParsedDocument;
    try {
      parsed = fromJsYaml(chunk);
    } catch {
      parsed = fromYaml2(chunk);
    }
    yield parsed;
  }
}

/** The 1-based position of character `offset`. */
function positionAt(text: string, offset: number): TextPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** A JSON file: one document. */
export function jsonDocument(text: string): ParsedDocument {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message.replace(/\s*\n[^]*/, '');
    const offset = /at position (\d+)/.exec(message)?.[1];
    // Node's message gives an offset only for some mistakes; yaml 2 (JSON is YAML) places the others.
    const yaml2 = offset === undefined ? fromYaml2({ text, firstLine: 0 }) : undefined;
    const position = offset !== undefined ? positionAt(text, Number(offset)) : yaml2 && !yaml2.ok ? yaml2.position : undefined;
    return { ok: false, reason: `not valid JSON: ${message}`, position };
  }
  let located: ParsedDocument | undefined;
  return {
    ok: true,
    value,
    positionOf: (itemIndex, required) => {
      if (!located && !required) return undefined;
      // JSON is YAML: read again with positions, once, the first time a line is wanted.
      try {
        located ??= fromJsYaml({ text, firstLine: 0 });
      } catch {
        return undefined;
      }
      return located.ok ? located.positionOf(itemIndex, true) : undefined;
    },
  };
}
