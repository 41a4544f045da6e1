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

export function printError(e: unknown): void {
  const line = e instanceof DsrlbError ? e.toLine() : e instanceof Error ? e.message : String(e);
  process.stderr.write(`lbctl: ${line.split('\n')[0]}\n`);
}
