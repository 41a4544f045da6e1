/**
 * The README and docs/ link only to files inside the repository that exist:
 * a clone must be readable on its own.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Markdown link targets of a page that are not URLs or in-page anchors, without their anchor. */
function localTargets(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => (m[1] ?? '').split('#')[0] ?? '')
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

test('the pages are found and the link reader sees relative links, not URLs or anchors', (t) => {
  t.true(PAGES.includes('docs/design.md'));
  t.deepEqual(localTargets('[a](docs/x.md) [b](https://example.com/y) [c](#here) [d](../up.md#part)'), ['docs/x.md', '../up.md']);
});

test('every relative link of README.md and docs/ points to a file in the repository', (t) => {
  for (const page of PAGES) {
    for (const target of localTargets(readFileSync(join(ROOT, page), 'utf8'))) {
      const path = resolve(ROOT, dirname(page), target);
      t.false(relative(ROOT, path).startsWith('..'), `${page} links outside the repository: ${target}`);
      t.true(existsSync(path), `${page} links to a missing file: ${target}`);
    }
  }
});
