/**
 * Prints src/bpf/consts.generated.ts from bpf/include/dsrlb.h: every
 * `#define DSRLB_* <integer>` and every enum, so TypeScript and C share one
 * definition of each constant. Usage: tsx scripts/gen-consts.ts bpf/include/dsrlb.h
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export function generateConsts(header: string): string {
  const text = header.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const out: string[] = [
    '// Generated from bpf/include/dsrlb.h by scripts/gen-consts.ts (make ts): do not edit.',
    '',
  ];
  for (const m of text.matchAll(/^#define\s+(DSRLB_\w+)\s+(0x[0-9a-fA-F]+|\d+)\s*$/gm)) {
    out.push(`export const ${m[1]} = ${m[2]};`);
  }
  for (const m of text.matchAll(/enum\s+(\w+)\s*\{([^}]*)\}/g)) {
    const [, enumName, body] = m;
    let next = 0;
    const members: string[] = [];
    for (const raw of (body ?? '').split(',')) {
      const item = raw.trim();
      if (!item) continue;
      const [name, value] = item.split('=').map((s) => s.trim());
      const n = value === undefined ? next : Number(value);
      if (!name || Number.isNaN(n)) throw new Error(`cannot read enum ${enumName} member '${item}'`);
      members.push(`  ${name}: ${n},`);
      next = n + 1;
    }
    out.push('', `export const ${enumName} = {`, ...members, '} as const;');
  }
  return out.join('\n') + '\n';
}

const main = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (main) process.stdout.write(generateConsts(readFileSync(process.argv[2] ?? 'bpf/include/dsrlb.h', 'utf8')));
