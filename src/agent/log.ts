/**
 * The agent's logger (pino): `--log-format json` writes one JSON object a
 * line for collectors; `text` (the default) writes one line an event for
 * people, formatted by pino-pretty in this process (no worker thread), so
 * every line is out before the process exits.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from './config.js';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Fields on every line (the node's name). */
  readonly base?: Record<string, string>;
  /** Where text lines go (default stdout); JSON lines always go to stdout. */
  readonly fd?: number;
}

export function createLogger(o: LoggerOptions): Logger {
  const options = { level: o.level, base: o.base ?? {} };
  if (o.format === 'json') return pino(options);
  // One line an event: an error's message (and code) only, no stack. pino-pretty
  // prints its errorKey's object on lines of its own, so that key is one we never log.
  const err = (e: unknown): unknown => (e instanceof Error ? [(e as NodeJS.ErrnoException).code, e.message].filter(Boolean).join(': ') : e);
  return pino({ ...options, serializers: { err }, errorKey: 'errorDetail' }, pretty({
    sync: true,
    destination: o.fd ?? 1,
    colorize: false,
    singleLine: true,
    translateTime: 'UTC:yyyy-mm-dd\'T\'HH:MM:ss.l\'Z\'',
    ignore: 'pid,hostname',
    errorLikeObjectKeys: [],
  }));
}
