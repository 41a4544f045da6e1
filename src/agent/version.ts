/** What `dsrlb-agent --version`, /healthz and dsrlb_build_info report. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native, projectRoot } from '../bpf/native.js';

/** package.json's version; no native code loaded, so `--version` works where the addon does not. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface BuildInfo { readonly version: string; readonly libbpf: string; readonly nodejs: string }

export function buildInfo(): BuildInfo {
  return { version: packageVersion(), libbpf: native().libbpfVersion(), nodejs: process.version };
}
