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
