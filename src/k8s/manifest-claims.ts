/**
 * Which file defines which object, and what the ClusterState therefore holds.
 * Pure bookkeeping (no I/O), applied one file at a time so that editing one
 * file only touches that file's objects.
 *
 * Rules (issue 4: the rest still applies, the last good version is kept):
 * - an invalid object keeps the last good version this file gave it;
 * - a document that does not parse (its objects cannot be named) keeps every
 *   object the previous version of the file had and the new one lacks, until
 *   the file parses again: a typo never withdraws a Service;
 * - deleting a file withdraws its objects;
 * - an object defined in two files: the first file by name wins (as
 *   parseManifests does), the other definition is an error.
 */
import type { ClusterStore, ResourceKind } from './cluster-store.js';
import { jsonEqual } from './json-equal.js';
import { formatLocation, locationOf, type LocatedObject, type ManifestError, type ManifestNotice, type ManifestParseResult } from './manifests.js';
import type { ObjectKind, ValidObject } from './manifest-validate.js';

const RESOURCE_OF: Readonly<Record<ObjectKind, ResourceKind>> = { Service: 'services', EndpointSlice: 'endpointSlices', Node: 'nodes' };

export interface ReportedError {
  readonly error: ManifestError;
  /** The object is still served, in its last good version. */
  readonly kept: boolean;
}

export interface FileOutcome {
  readonly errors: readonly ReportedError[];
  readonly notices: readonly ManifestNotice[];
  /** The ClusterState changed. */
  readonly changed: boolean;
}

interface Claim {
  readonly object: ValidObject;
  readonly at: LocatedObject | undefined;
}

export class ManifestClaims {
  /** file -> object id ("Kind key") -> what the file contributes */
  private readonly byFile = new Map<string, Map<string, Claim>>();
  /** object id -> files that define it, sorted by name */
  private readonly claimants = new Map<string, string[]>();

  constructor(private readonly store: ClusterStore) {}

  files(): string[] {
    return [...this.byFile.keys()];
  }

  /** Replaces what `file` contributes with a fresh parse of it. */
  applyFile(file: string, parsed: ManifestParseResult): FileOutcome {
    const old = this.byFile.get(file) ?? new Map<string, Claim>();
    const next = new Map<string, Claim>();
    const errors: ReportedError[] = [];

    for (const o of parsed.objects) {
      const id = idOf(o.kind, o.key);
      const first = next.get(id);
      if (first) {
        errors.push({ error: { ...locationOf(o), kind: o.kind, key: o.key, reason: `${id}: defined twice; the definition in ${first.at ? formatLocation(first.at) : file} is used` }, kept: true });
        continue;
      }
      next.set(id, { object: { kind: o.kind, key: o.key, object: o.object } as ValidObject, at: o });
    }

    let unnamed = false;
    for (const e of parsed.errors) {
      const id = e.kind !== null && e.key !== null && e.kind in RESOURCE_OF ? idOf(e.kind as ObjectKind, e.key) : undefined;
      if (id === undefined) {
        unnamed = true;
        errors.push({ error: e, kept: false });
        continue;
      }
      const lastGood = old.get(id);
      if (lastGood && !next.has(id)) next.set(id, lastGood);
      errors.push({ error: e, kept: next.has(id) });
    }
    if (unnamed) for (const [id, claim] of old) if (!next.has(id)) next.set(id, claim);

    this.byFile.set(file, next);
    const changed = this.reconcile(file, old, next);
    for (const [id] of next) {
      const owner = this.claimants.get(id)?.[0];
      const claim = next.get(id);
      if (owner !== undefined && owner !== file && claim?.at) {
        errors.push({ error: { ...locationOf(claim.at), kind: claim.object.kind, key: claim.object.key, reason: `${id}: defined twice; the definition in ${owner} is used` }, kept: true });
      }
    }
    return { errors, notices: parsed.notices, changed };
  }

  /** The file is gone: its objects go too (unless another file defines them). */
  removeFile(file: string): boolean {
    const old = this.byFile.get(file);
    if (!old) return false;
    this.byFile.delete(file);
    return this.reconcile(file, old, new Map());
  }

  private reconcile(file: string, old: ReadonlyMap<string, Claim>, next: ReadonlyMap<string, Claim>): boolean {
    let changed = false;
    for (const id of old.keys()) if (!next.has(id)) this.unclaim(id, file);
    for (const id of next.keys()) if (!old.has(id)) this.claim(id, file);
    for (const id of new Set([...old.keys(), ...next.keys()])) changed = this.refresh(id) || changed;
    return changed;
  }

  private claim(id: string, file: string): void {
    const list = this.claimants.get(id) ?? [];
    list.push(file);
    list.sort();
    this.claimants.set(id, list);
  }

  private unclaim(id: string, file: string): void {
    const list = (this.claimants.get(id) ?? []).filter((f) => f !== file);
    if (list.length === 0) this.claimants.delete(id);
    else this.claimants.set(id, list);
  }

  /** Puts the owning file's version of `id` in the store; true if the store changed. */
  private refresh(id: string): boolean {
    const [kindName, ...rest] = id.split(' ');
    const kind = RESOURCE_OF[kindName as ObjectKind];
    const key = rest.join(' ');
    const owner = this.claimants.get(id)?.[0];
    const claim = owner === undefined ? undefined : this.byFile.get(owner)?.get(id);
    if (!claim) return this.store.delete(kind, key);
    const current = this.store.get(kind, key);
    if (current !== undefined && jsonEqual(current, claim.object.object)) return false;
    this.store.set(kind, key, claim.object.object);
    return true;
  }
}

function idOf(kind: ObjectKind, key: string): string {
  return `${kind} ${key}`;
}
