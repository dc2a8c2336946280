import { forTerminal } from '../core/terminal.ts';

/** A plain aligned text table; numbers right-aligned so columns of figures line up. */
export function renderTable(header: string[], cells: string[][]): string {
  // Cells hold outside text (run ids, model names): one line each, nothing a terminal would act on.
  const rows = cells.map((r) => r.map((c) => forTerminal(c ?? '', { oneLine: true })));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,/%\s[\]–-]*$/.test(r[i] ?? '')));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

/**
 * A table no wider than `width` columns: when the columns do not fit, they are dealt into several
 * tables, each repeating the first `keep` columns (the row names), so nothing wraps in a terminal.
 */
export function renderTableWithin(width: number, header: string[], cells: string[][], keep = 1): string {
  const widthOf = (i: number) => Math.max(header[i].length, ...cells.map((r) => (r[i] ?? '').length)) + 2;
  const fixed = header.slice(0, keep).reduce((a, _, i) => a + widthOf(i), 0);
  const rest = header.map((_, i) => i).slice(keep);
  const fits = (cols: number[]) => cols.reduce((a, i) => a + widthOf(i), fixed) <= width + 2;
  // The fewest tables that fit, with the columns shared out evenly (3 + 2 rather than 4 + 1).
  let chunks: number[][] = [rest];
  for (let k = 1; k <= rest.length; k++) {
    const size = Math.ceil(rest.length / k);
    chunks = Array.from({ length: k }, (_, j) => rest.slice(j * size, (j + 1) * size)).filter((c) => c.length);
    if (chunks.every(fits)) break;
  }
  if (chunks.length <= 1) return renderTable(header, cells);
  const pick = (row: string[], cols: number[]) => [...row.slice(0, keep), ...cols.map((i) => row[i] ?? '')];
  return chunks.map((cols) => renderTable(pick(header, cols), cells.map((r) => pick(r, cols)))).join('\n\n');
}

/** Text folded at word boundaries to `width` columns; lines after the first start with `indent`. */
export function wrapText(text: string, width: number, indent = ''): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && next.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = next;
  }
  lines.push(line);
  return lines.join('\n');
}
