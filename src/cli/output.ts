/** How lbctl prints: tables for people, JSON for programs, one-line errors. */
import Table from 'cli-table3';
import { DsrlbError } from '../errors.js';

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

/** A borderless, column-aligned table like cilium's CLI prints. */
export function printTable(head: string[], rows: string[][]): void {
  const table = new Table({
    head,
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '',
      'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  table.push(...rows);
  process.stdout.write(`${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n`);
}

export function printError(e: unknown): void {
  const line = e instanceof DsrlbError ? e.toLine() : e instanceof Error ? e.message : String(e);
  process.stderr.write(`lbctl: ${line.split('\n')[0]}\n`);
}
