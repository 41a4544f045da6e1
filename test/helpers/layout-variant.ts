/**
 * The upgrade tests' other build: bpf/ compiled with DSRLB_LAYOUT_TEST (an
 * extra member at the front of struct lb4_flow, so lb4_flows has another
 * layout and every one of its members moves) into a directory of its own,
 * with the Makefile's own flags.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildLayout, datapathObjects, projectRoot, type BuildLayout } from '../../src/bpf/index.js';

export interface Variant { readonly dir: string; readonly layout: BuildLayout; remove(): void }

export function buildLayoutVariant(): Variant {
  const dir = mkdtempSync(join(tmpdir(), 'dsrlb-layout-variant-'));
  execFileSync('make', ['-s', 'bpf', `BPF_OUT=${dir}`, 'BPF_EXTRA_CFLAGS=-DDSRLB_LAYOUT_TEST'], { cwd: projectRoot, stdio: 'pipe' });
  return { dir, layout: buildLayout(Object.values(datapathObjects(dir))), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The layout of the build `make bpf` made. */
export function defaultLayout(): BuildLayout {
  return buildLayout(Object.values(datapathObjects()));
}
