/**
 * Borderless, column-aligned tables like cilium's CLI prints: a header row,
 * then one line per row, columns three spaces apart, trailing blanks trimmed.
 * Linear in the size of the table (a general table library laid out 5,000
 * plan rows in seconds). A cell with line breaks spans several lines, its
 * neighbours left blank on the extra lines.
 */

const GAP = '   ';

/** Display width: code points, so an accented name lines up like a plain one. */
function width(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) n++; // a low surrogate belongs to the code point before it
  }
  return n;
}

export function formatTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [head, ...rows].map((row) => head.map((_, i) => (row[i] ?? '').split('\n')));
  const widths = head.map((_, i) => {
    let w = 0;
    for (const row of all) for (const line of row[i] ?? []) w = Math.max(w, width(line));
    return w;
  });
  const out: string[] = [];
  for (const row of all) {
    const height = Math.max(...row.map((cell) => cell.length));
    for (let l = 0; l < height; l++) {
      let line = '';
      for (let i = 0; i < row.length; i++) {
        const text = row[i]?.[l] ?? '';
        line += i === row.length - 1 ? text : text + ' '.repeat((widths[i] ?? 0) - width(text)) + GAP;
      }
      out.push(line.trimEnd());
    }
  }
  return `${out.join('\n')}\n`;
}
