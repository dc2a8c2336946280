import type { Store } from '../store/store.ts';
import type { Leaderboard } from './leaderboard.ts';
import { renderTable } from './text-table.ts';

const pct = (x: number) => (x * 100).toFixed(1);

function cellText(c: { value: number; n?: number; ci95?: [number, number] } | undefined, withCi: boolean): string {
  if (!c) return '-';
  return withCi && c.ci95 ? `${pct(c.value)} [${pct(c.ci95[0])}-${pct(c.ci95[1])}]` : pct(c.value);
}

const kindMark = (k: string) => (k === 'published' ? ' (published)' : k === 'baseline' ? ' (reference)' : '');

export function leaderboardTable(lb: Leaderboard): string {
  const header = ['run', 'model', 'n', ...lb.columns.map((c) => c.label)];
  const rows = lb.rows.map((r) => [
    r.name + kindMark(r.kind),
    r.kind === 'run' ? `${r.model}${r.settings ? ` (${r.settings})` : ''}` : (r.settings ?? ''),
    String(r.summary?.counts.evaluated ?? ''),
    ...lb.columns.map((c) => cellText(r.cells[c.key], r.kind === 'run')),
  ]);
  return [
    `${lb.benchmark} (${lb.protocol}): % with 95% Wilson CI; baselines computed on the same samples; published rows from the papers`,
    renderTable(header, rows),
    ...(lb.comparisons.length ? ['', 'Paired comparisons (exact McNemar test):', ...lb.comparisons.map((c) => `- ${c.sentence}`)] : []),
  ].join('\n');
}

const mdEscape = (s: string) => s.replace(/\|/g, '\\|').replace(/[<>]/g, (ch) => (ch === '<' ? '&lt;' : '&gt;'));

export function leaderboardMarkdown(lb: Leaderboard): string {
  const header = ['run', 'model', 'n', ...lb.columns.map((c) => c.label)];
  const lines = [
    `### ${lb.benchmark} (${lb.protocol})`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...lb.rows.map((r) => `| ${[mdEscape(r.name + kindMark(r.kind)), mdEscape(r.kind === 'run' ? `${r.model}${r.settings ? ` (${r.settings})` : ''}` : (r.settings ?? '')), String(r.summary?.counts.evaluated ?? ''), ...lb.columns.map((c) => cellText(r.cells[c.key], r.kind === 'run'))].join(' | ')} |`),
    '',
    'Percentages with 95% Wilson intervals. Reference rows: baselines on the same samples; published rows from the papers.',
  ];
  if (lb.comparisons.length) lines.push('', '**Paired comparisons** (exact McNemar test):', '', ...lb.comparisons.map((c) => `- ${mdEscape(c.sentence)}`));
  return `${lines.join('\n')}\n`;
}

export function leaderboardJson(lb: Leaderboard): string {
  return `${JSON.stringify(
    {
      benchmark: lb.benchmark,
      protocol: lb.protocol,
      columns: lb.columns,
      rows: lb.rows.map(({ summary, ...r }) => ({ ...r, ...(summary ? { summary } : {}) })),
      comparisons: lb.comparisons,
    },
    null,
    2,
  )}\n`;
}

/** One line per sample and run: what a spreadsheet or pandas user wants. */
export async function samplesCsv(store: Store, runIds: string[]): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  const records: unknown[][] = [];
  for (const id of runIds) {
    const run = await store.getRun(id);
    for (const r of await store.results(id)) {
      records.push([
        id, run?.model ?? '', r.sampleId, r.subset ?? '', r.scenario ?? '', r.category ?? '', r.label, r.prediction ?? '',
        r.correct === undefined ? '' : r.correct ? 1 : 0, r.response ?? '', r.errorKind ? `${r.errorKind}: ${r.errorMessage ?? ''}` : '',
        r.latencyMs ?? '', r.inputTokens ?? '', r.outputTokens ?? '',
      ]);
    }
  }
  return stringify(records, {
    header: true,
    columns: ['run', 'model', 'id', 'subset', 'scenario', 'category', 'label', 'verdict', 'correct', 'response', 'error', 'latency_ms', 'input_tokens', 'output_tokens'],
  });
}
