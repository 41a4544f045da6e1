/**
 * The standalone source (`--manifests DIR`): the directory's YAML/JSON files,
 * re-read when they change. fs.watch gives low latency but is unreliable
 * (editors that rename, ConfigMap mounts that swap a `..data` symlink, a
 * directory deleted and recreated), so a periodic re-scan compares each
 * file's stat signature and re-reads only what changed. A file that has not
 * changed in content is not parsed again.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { ManifestClaims, type ReportedError } from './manifest-claims.js';
import { DEFAULT_MANIFEST_LIMITS, parseManifestBounded, tooLarge, type ManifestLimits } from './manifest-limits.js';
import { formatManifestError, formatManifestNotice, listManifestFiles, MANIFEST_EXTENSIONS } from './manifests.js';
import { SourceError, type SourceOptions } from './source.js';
import { StoreSource } from './store-source.js';

export interface ManifestSourceOptions extends SourceOptions {
  readonly dir: string;
  /** Full re-scan period, the fallback for events fs.watch misses (default 2000 ms; 0 = never). */
  readonly rescanMs?: number;
  /** Wait after a file event before reading (default 20 ms): editors write in steps. */
  readonly settleMs?: number;
  /**
   * A file found missing is re-checked this much later before its objects go
   * (default 100 ms): some editors delete and rewrite instead of replacing.
   */
  readonly removeGraceMs?: number;
  /** Use fs.watch (default true); without it only the re-scan notices changes. */
  readonly watch?: boolean;
  /** Remarks that are not errors (an ignored kind, a Service without clusterIP). */
  readonly onNotice?: (message: string) => void;
  /** Per-file size and object limits (default DEFAULT_MANIFEST_LIMITS): a file over either is refused, the rest applies. */
  readonly limits?: ManifestLimits;
}

interface FileState {
  /** stat signature of the version last read */
  sig: string;
  /** text last parsed */
  text: string;
  /** errors in that version */
  errors: number;
  /** the last attempt to read it failed */
  unreadable: boolean;
}

export class ManifestSource extends StoreSource {
  readonly dir: string;
  private readonly claims = new ManifestClaims(this.store);
  private readonly seen = new Map<string, FileState>();
  private readonly dirty = new Set<string>();
  private readonly rescanMs: number;
  private readonly settleMs: number;
  private readonly useWatch: boolean;
  private readonly onNotice: ((message: string) => void) | undefined;
  private watcher: FSWatcher | undefined;
  private watchedIno: number | undefined;
  private rescanTimer: NodeJS.Timeout | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private rescanWanted = false;
  private pump: Promise<void> | undefined;
  private dirError: string | undefined;
  private scannedOnce = false;
  /** Files found missing once: gone for good only if still missing a moment later. */
  private readonly missing = new Map<string, number>();
  private readonly removeGraceMs: number;
  private readonly graceTimers = new Set<NodeJS.Timeout>();
  private readonly limits: ManifestLimits;

  constructor(options: ManifestSourceOptions) {
    super(options);
    this.dir = resolve(options.dir);
    this.rescanMs = options.rescanMs ?? 2000;
    this.settleMs = options.settleMs ?? 20;
    this.removeGraceMs = options.removeGraceMs ?? 100;
    this.useWatch = options.watch ?? true;
    this.onNotice = options.onNotice;
    this.limits = options.limits ?? DEFAULT_MANIFEST_LIMITS;
  }

  /** Re-reads everything that changed now, without waiting for an event or the re-scan; resolves when applied. */
  async rescan(): Promise<void> {
    this.rescanWanted = true;
    await this.run();
    while (this.pump) await this.pump;
  }

  protected begin(): void {
    if (this.rescanMs > 0) this.rescanTimer = setInterval(() => { this.rescanWanted = true; void this.run(); }, this.rescanMs);
    this.rescanWanted = true;
    void this.run();
  }

  protected async end(): Promise<void> {
    clearInterval(this.rescanTimer);
    clearTimeout(this.settleTimer);
    for (const t of this.graceTimers) clearTimeout(t);
    this.watcher?.close();
    this.watcher = undefined;
    await this.pump;
  }

  protected failing(): readonly string[] {
    const files = [...this.seen].filter(([, s]) => s.errors > 0 || s.unreadable).map(([f]) => f);
    return this.dirError ? [this.dir, ...files] : files;
  }

  private onEvent(filename: string | null): void {
    if (filename && isManifestName(filename)) this.dirty.add(join(this.dir, filename));
    else this.rescanWanted = true; // a rename of `..data`, the directory itself, or no name at all
    if (this.settleTimer !== undefined) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = undefined;
      void this.run();
    }, this.settleMs);
  }

  /** One pass at a time; work that arrives during a pass is picked up by it or by a following one. */
  private run(): Promise<void> {
    this.pump ??= this.drain().finally(() => {
      this.pump = undefined;
      // Work that came in too late for the pass; not when the directory is failing (the re-scan timer retries).
      if (this.running && (this.rescanWanted || (this.dirty.size > 0 && this.dirError === undefined))) void this.run();
    });
    return this.pump;
  }

  private async drain(): Promise<void> {
    try {
      await this.drainOnce();
    } catch (e) {
      // Nothing here should throw; if it does, report it and let the re-scan try again.
      this.report(new SourceError('manifests', 'read', 'ERR_MANIFESTS_DIR', `reading the manifests failed: ${e instanceof Error ? e.message : String(e)}`, {
        subject: this.dir, cause: e,
      }));
    }
  }

  private async drainOnce(): Promise<void> {
    while (this.running && (this.rescanWanted || this.dirty.size > 0)) {
      let scanned = false;
      // While the directory is failing, files are read only after it lists again.
      if (this.dirError !== undefined) this.rescanWanted = true;
      if (this.rescanWanted) {
        this.rescanWanted = false;
        // An unreadable directory is a failure, not an empty cluster: keep everything.
        if (!(await this.scan())) return;
        this.scannedOnce = true;
        scanned = true;
      }
      const batch = [...this.dirty].sort();
      this.dirty.clear();
      let changed = false;
      for (const file of batch) changed = (await this.readFile(file)) || changed;
      if (scanned) this.markRead();
      if (changed) this.changed();
      if (this.scannedOnce) this.markSynced();
    }
  }

  /** Lists the directory and marks new, changed and vanished files dirty; false if it cannot be read. */
  private async scan(): Promise<boolean> {
    let files: string[];
    let dirIno: number;
    try {
      files = await listManifestFiles(this.dir);
      dirIno = (await stat(this.dir)).ino;
    } catch (e) {
      const line = e instanceof Error ? e.message : String(e);
      if (line !== this.dirError) {
        this.dirError = line;
        this.report(new SourceError('manifests', 'read', 'ERR_MANIFESTS_DIR', `cannot read the manifests directory: ${line}; keeping the last good state`, {
          subject: this.dir, remedy: 'check --manifests DIR', cause: e,
        }));
      }
      return false;
    }
    this.dirError = undefined;
    this.ensureWatcher(dirIno);
    const present = new Set(files);
    for (const f of this.seen.keys()) if (!present.has(f)) this.dirty.add(f);
    await Promise.all(files.map(async (f) => {
      // A file that vanished since readdir, or a dangling symlink: readFile sorts it out.
      const sig = await signature(f).catch(() => undefined);
      if (sig === undefined || sig !== this.seen.get(f)?.sig) this.dirty.add(f);
    }));
    return true;
  }

  /** (Re)creates the fs.watch watcher: also when the directory was replaced (another inode). */
  private ensureWatcher(dirIno: number): void {
    if (!this.useWatch || !this.running || (this.watcher && this.watchedIno === dirIno)) return;
    this.watcher?.close();
    this.watcher = undefined;
    try {
      const w = watch(this.dir, { persistent: false }, (_type, filename) => this.onEvent(filename === null ? null : String(filename)));
      w.on('error', () => {
        // The re-scan carries on and makes a new watcher when the directory is back.
        w.close();
        if (this.watcher === w) this.watcher = undefined;
        this.rescanWanted = true;
      });
      this.watcher = w;
      this.watchedIno = dirIno;
    } catch {
      // No inotify (limits reached, odd filesystem): the re-scan alone notices changes.
    }
  }

  /** Reads and applies one file; true if the state changed. */
  private async readFile(file: string): Promise<boolean> {
    let text: string;
    let sig = '';
    const prev = this.seen.get(file);
    try {
      sig = await signature(file);
      const big = tooLarge(Number(sig.split(':')[1]), this.limits);
      if (big) return this.refuse(file, sig, big);
      text = await readFile(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') return this.vanished(file);
      this.report(new SourceError('manifests', 'read', 'ERR_MANIFEST_READ', `cannot read (${code ?? String(e)}); keeping its last good objects`, { subject: file, cause: e }));
      // Remembering the signature stops the re-scan from retrying (and reporting) until the file changes.
      this.seen.set(file, { sig, text: prev?.text ?? '', errors: prev?.errors ?? 0, unreadable: true });
      return false;
    }
    this.missing.delete(file);
    if (prev && prev.text === text) {
      prev.sig = sig;
      prev.unreadable = false;
      return false;
    }
    const bounded = await parseManifestBounded(text, file, this.limits);
    if (!bounded.ok) return this.refuse(file, sig, bounded.reason);
    const outcome = this.claims.applyFile(file, bounded.result);
    this.seen.set(file, { sig, text, errors: outcome.errors.length, unreadable: false });
    for (const e of outcome.errors) this.report(toSourceError(e));
    for (const n of outcome.notices) this.onNotice?.(formatManifestNotice(n));
    return outcome.changed;
  }

  /** A file over a limit: reported, its last good objects kept, not read again until it changes. */
  private refuse(file: string, sig: string, reason: string): false {
    this.missing.delete(file);
    this.report(new SourceError('manifests', 'limit', 'ERR_MANIFEST_LIMIT', `${reason}; keeping its last good objects`, {
      subject: file, remedy: 'split the file, or raise --manifests-max-file-bytes / --manifests-max-objects',
    }));
    const prev = this.seen.get(file);
    this.seen.set(file, { sig, text: prev?.text ?? '', errors: 1, unreadable: false });
    return false;
  }

  /** A file is not there (any more): its objects go once that is certain. */
  private async vanished(file: string): Promise<boolean> {
    if (!this.seen.has(file)) return false;
    if (!(await isDirectory(this.dir))) {
      this.rescanWanted = true; // the scan reports it; the state stays
      return false;
    }
    const now = performance.now();
    const since = this.missing.get(file);
    if (since === undefined) this.missing.set(file, now);
    const left = (since ?? now) + this.removeGraceMs - now;
    if (left > 0) {
      this.lookAgain(file, left);
      return false;
    }
    this.missing.delete(file);
    this.seen.delete(file);
    return this.claims.removeFile(file);
  }

  private lookAgain(file: string, afterMs: number): void {
    const t = setTimeout(() => {
      this.graceTimers.delete(t);
      this.dirty.add(file);
      void this.run();
    }, Math.ceil(afterMs) + 1);
    this.graceTimers.add(t);
    t.unref();
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function isManifestName(name: string): boolean {
  const base = basename(name);
  return !base.startsWith('.') && MANIFEST_EXTENSIONS.includes(extname(base).toLowerCase());
}

/** Changes when the file is rewritten, replaced (new inode) or touched. */
async function signature(file: string): Promise<string> {
  const s = await stat(file);
  if (!s.isFile()) throw Object.assign(new Error(`${file} is not a file`), { code: 'EISDIR' });
  return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

function toSourceError({ error, kept }: ReportedError): SourceError {
  const parse = error.kind === null && /^not valid (YAML|JSON)/.test(error.reason);
  const line = `${formatManifestError(error)}${kept ? '; keeping its last good version' : ''}`;
  return new SourceError('manifests', parse ? 'parse' : 'invalid_object', parse ? 'ERR_MANIFEST_PARSE' : 'ERR_MANIFEST_INVALID', line, {
    subject: error.file,
    remedy: 'fix the document; the rest of the directory still applies',
    context: { file: error.file, documentIndex: error.documentIndex, itemIndex: error.itemIndex, objectKind: error.kind, key: error.key },
  });
}
