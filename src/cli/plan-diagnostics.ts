/**
 * `lbctl plan`'s errors and warnings: manifest errors, the reader's notes,
 * the plan's warnings and what it leaves out on purpose, as one list with
 * where each comes from (file, document, List item, 1-based line and column,
 * the object), for the JSON output and for stderr (the path once per file).
 */
import { type LocatedObject, type ManifestLocation, type ManifestSet } from '../k8s/manifests.js';
import type { PlanWarning } from '../plan/index.js';

export interface DiagnosticObject {
  readonly kind: string;
  /** null for Nodes and objects without one. */
  readonly namespace: string | null;
  readonly name: string;
}

/** One error or warning, as `lbctl plan -o json` prints it (keys in this order; null when not known). */
export interface PlanDiagnostic {
  readonly file: string | null;
  /** 0-based document in the file. */
  readonly document: number | null;
  /** 0-based item of a List document. */
  readonly item: number | null;
  readonly line: number | null;
  readonly column: number | null;
  readonly object: DiagnosticObject | null;
  readonly message: string;
}

export interface PlanDiagnostics {
  readonly errors: readonly PlanDiagnostic[];
  readonly warnings: readonly PlanDiagnostic[];
}

const NOWHERE = { file: null, document: null, item: null, line: null, column: null } as const;

function objectOf(kind: string | null, key: string | null): DiagnosticObject | null {
  if (kind === null || key === null) return null;
  const slash = kind === 'Node' ? -1 : key.indexOf('/');
  return slash < 0 ? { kind, namespace: null, name: key } : { kind, namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The message without the "Kind key: " it starts with when the object is given separately. */
function bare(message: string, kind: string | null, key: string | null): string {
  const prefix = kind === null ? '' : `${kind}${key === null ? '' : ` ${key}`}: `;
  return prefix && message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

function located(loc: ManifestLocation, kind: string | null, key: string | null, message: string): PlanDiagnostic {
  return {
    file: loc.file,
    document: loc.documentIndex,
    item: loc.itemIndex ?? null,
    line: loc.line ?? null,
    column: loc.column ?? null,
    object: objectOf(kind, key),
    message: bare(message.replace(/\s*\n\s*/g, ' ').trim(), kind, key),
  };
}

/** Sorted by file (as read), then position in it. */
function byPlace(files: readonly string[]): (a: PlanDiagnostic, b: PlanDiagnostic) => number {
  const order = new Map(files.map((f, i) => [f, i]));
  const rank = (d: PlanDiagnostic): number => (d.file === null ? -1 : order.get(d.file) ?? files.length);
  return (a, b) => rank(a) - rank(b) || (a.document ?? -1) - (b.document ?? -1) || (a.item ?? -1) - (b.item ?? -1) || (a.line ?? 0) - (b.line ?? 0);
}

export function planDiagnostics(
  set: ManifestSet, files: readonly string[], planWarnings: readonly PlanWarning[], nodeWarning: { readonly node: string; readonly message: string } | null,
): PlanDiagnostics {
  const services = new Map<string, LocatedObject>();
  for (const o of set.objects) if (o.kind === 'Service') services.set(o.key, o);
  const errors = set.errors.map((e) => located(e, e.kind, e.key, e.reason));
  const warnings = set.notices.map((n) => located(n, n.kind, n.key, n.message));
  for (const w of planWarnings) {
    const at = services.get(w.service);
    warnings.push(at ? located(at, 'Service', w.service, w.message) : { ...NOWHERE, object: objectOf('Service', w.service), message: w.message });
  }
  if (nodeWarning) warnings.push({ ...NOWHERE, object: { kind: 'Node', namespace: null, name: nodeWarning.node }, message: nodeWarning.message });
  const order = byPlace(files);
  return { errors: errors.sort(order), warnings: warnings.sort(order) };
}

function what(d: PlanDiagnostic): string {
  if (!d.object) return d.message;
  return `${d.object.kind} ${d.object.namespace === null ? '' : `${d.object.namespace}/`}${d.object.name}: ${d.message}`;
}

/** "line 31, column 5 (document 4, item 2)", as much as is known. */
function where(x: PlanDiagnostic): string {
  if (x.document === null) return '';
  const doc = `document ${x.document}${x.item === null ? '' : `, item ${x.item}`}`;
  if (x.line === null) return doc;
  return `line ${x.line}${x.column === null ? '' : `, column ${x.column}`} (${doc})`;
}

/** stderr lines: each file's path once, then its diagnostics by position; those of no file first. */
export function diagnosticLines(d: PlanDiagnostics, files: readonly string[]): string[] {
  const all = [...d.errors.map((x) => ['error', x] as const), ...d.warnings.map((x) => ['warning', x] as const)];
  const order = byPlace(files);
  all.sort((a, b) => order(a[1], b[1]));
  const out: string[] = [];
  let file: string | null = null;
  for (const [severity, x] of all) {
    if (x.file === null) {
      out.push(`lbctl: ${severity}: ${what(x)}`);
      continue;
    }
    if (x.file !== file) {
      file = x.file;
      out.push(`lbctl: ${file}:`);
    }
    const at = where(x);
    out.push(`  ${at ? `${at}: ` : ''}${severity}: ${what(x)}`);
  }
  return out;
}
