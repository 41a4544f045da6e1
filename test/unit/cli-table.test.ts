/**
 * lbctl's tables (src/cli/table.ts): cilium-style borderless columns three
 * spaces apart, trailing blanks trimmed, multi-line cells, widths in code
 * points; linear in the rows (a plan of thousands of frontends).
 */
import test from 'ava';
import { formatTable } from '../../src/cli/table.js';

test('columns are as wide as their widest cell, three spaces apart, without trailing blanks', (t) => {
  t.is(formatTable(['A', 'BB', 'C'], [['x', 'yyyy', 'z'], ['', '', ''], ['long value here', 'b', '']]), [
    'A                 BB     C',
    'x                 yyyy   z',
    '',
    'long value here   b',
    '',
  ].join('\n'));
});

test('a cell with line breaks spans lines; its neighbours are blank there', (t) => {
  t.is(formatTable(['', ''], [['Maps', 'ok'], ['Agent', 'healthy\nsince 10:00']]), [
    '',
    'Maps    ok',
    'Agent   healthy',
    '        since 10:00',
    '',
  ].join('\n'));
});

test('widths count code points; no rows prints the header alone', (t) => {
  t.is(formatTable(['N', 'X'], [['é', '1'], ['😀', '2'], ['ab', '3']]), 'N    X\né    1\n😀    2\nab   3\n');
  t.is(formatTable(['SERVICE', 'PORT'], []), 'SERVICE   PORT\n');
});

test('thousands of rows (a 5 MB plan has ~5,000) format in one pass', (t) => {
  const rows = Array.from({ length: 5000 }, (_, i) => [`ns-${i % 100}/svc-${i}`, 'http', `10.96.${i >> 8}.${i & 255}:80/TCP`]);
  const lines = formatTable(['SERVICE', 'PORT', 'FRONTEND'], rows).split('\n');
  t.is(lines.length, 5002);
  t.is(lines[5000], 'ns-99/svc-4999   http   10.96.19.135:80/TCP');
  t.true(lines.slice(1, -1).every((l) => l.indexOf('http') === lines[1]?.indexOf('http')), 'one column start for every row');
});
