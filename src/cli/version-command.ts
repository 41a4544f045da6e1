import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { native, projectRoot } from '../bpf/native.js';
import { parseFormat, printJson, printTable } from './output.js';

export interface Versions { dsrlb: string; libbpf: string; kernel: string; node: string }

/** package.json's version (no native code loaded: `lbctl --version` works where the addon does not). */
export function dsrlbVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export function versions(): Versions {
  return { dsrlb: dsrlbVersion(), libbpf: native().libbpfVersion(), kernel: release(), node: process.version };
}

export function registerVersionCommand(program: Command): void {
  program.command('version')
    .description('versions of dsrlb, libbpf, the kernel and Node.js')
    .option('-o, --output <format>', 'text or json', 'text')
    .action((opts: { output: string }) => {
      const v = versions();
      if (parseFormat(opts.output) === 'json') printJson(v);
      else printTable(['COMPONENT', 'VERSION'], Object.entries(v));
    });
}
