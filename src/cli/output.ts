/** How lbctl prints: tables for people, JSON for programs, one-line errors. */
import { DsrlbError } from '../errors.js';
import { formatTable } from './table.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export type OutputFormat = 'text' | 'json';

export function parseFormat(value: string): OutputFormat {
  if (value === 'json' || value === 'text') return value;
  throw new DsrlbError('ERR_USAGE', `unknown output format '${value}'`, { remedy: 'use -o json or -o text' });
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A borderless, column-aligned table like cilium's CLI prints (./table.ts). */
export function printTable(head: string[], rows: string[][]): void {
  process.stdout.write(formatTable(head, rows));
}

/**
 * Output to a closed pipe (`lbctl bpf lb list | head -1`) ends the process
 * quietly with exit 0, as the reader wanted no more; installed once, for
 * every command.
 */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}

/** A usage error from commander ("error: unknown option '--x'\n(Did you mean ...)") as one line. */
export function usageLine(command: string, text: string): string {
  const msg = text.trim().replace(/^error:\s*/, '').split('\n').map((l) => l.trim()).filter(Boolean).join(' ');
  return `${command}: ${msg} (see ${command} --help)`;
}

/** Something the reader should know about the output (on stderr, so piped output stays data). */
export function printNote(text: string): void {
  process.stderr.write(`lbctl: note: ${text}\n`);
}

export function printError(e: unknown): void {
  const line = e instanceof DsrlbError ? e.toLine() : e instanceof Error ? e.message : String(e);
  process.stderr.write(`lbctl: ${line.split('\n')[0]}\n`);
}
