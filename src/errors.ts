/**
 * Errors are values with context: a stable `code` (like Node's ERR_*), the
 * object the error is about, and what the operator can do about it.
 */
export interface ErrorDetails {
  /** What failed: a map, program, file, Service ("ns/name"), flag... */
  readonly subject?: string;
  /** What the user can do about it, one sentence. */
  readonly remedy?: string;
  /** Anything else worth logging (errno, document index...). */
  readonly context?: Readonly<Record<string, unknown>>;
  readonly cause?: unknown;
}

export class DsrlbError extends Error {
  readonly code: string;
  readonly subject: string | undefined;
  readonly remedy: string | undefined;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'DsrlbError';
    this.code = code;
    this.subject = details.subject;
    this.remedy = details.remedy;
    this.context = details.context ?? {};
  }

  /** One line for a terminal: what is wrong, then what to do. */
  toLine(): string {
    const what = this.subject ? `${this.subject}: ${this.message}` : this.message;
    return this.remedy ? `${what} (${this.remedy})` : what;
  }
}
