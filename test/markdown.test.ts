import { describe, expect, it } from 'vitest';
import { leaderboardMarkdown, mdEscape } from '../src/report/formats.ts';
import type { Leaderboard } from '../src/report/leaderboard.ts';
import { compareIds, inIdOrder } from '../src/report/order.ts';

describe('Markdown report', () => {
  it('escapes untrusted text with backslashes, never HTML entities', () => {
    expect(mdEscape('p < 0.001 & 2 > 1')).toBe('p < 0.001 & 2 > 1');
    expect(mdEscape('<script>alert(1)</script>')).toBe('\\<script>alert(1)\\</script>');
    expect(mdEscape('a|b *bold* _it_ `code` [link](x)')).toBe('a\\|b \\*bold\\* \\_it\\_ \\`code\\` \\[link\\](x)');
    expect(mdEscape('&amp; stays text')).toBe('\\&amp; stays text');
    expect(mdEscape('two\nlines')).toBe('two lines');
  });

  it('a leaderboard with a comparison: p < 0.001 literally, no entity anywhere, n once per column', () => {
    const lb: Leaderboard = {
      benchmark: 'demo',
      protocol: 'awareness',
      charts: {},
      headline: [],
      columns: [{ key: 'typical', label: 'typical', group: 'accuracy', better: 'higher' }],
      rows: [
        { name: '<b>x</b>', kind: 'run', model: 'openai:a|b', cells: { typical: { value: 0.5, n: 40, ci95: [0.35, 0.65] } } },
        { name: 'y', kind: 'run', model: 'openai:y', cells: { typical: { value: 0.9, n: 40, ci95: [0.77, 0.96] } } },
      ],
      comparisons: [{ a: '<b>x</b>', b: 'y', metric: 'typical caught', result: {} as never, sentence: 'y catches more typical pairs than <b>x</b> (p < 0.001; n = 40).' }],
      runs: [],
    };
    const md = leaderboardMarkdown(lb);
    expect(md).not.toMatch(/&(lt|gt|amp|quot|#\d+);/);
    expect(md).toContain('p < 0.001; n = 40');
    expect(md).toContain('| \\<b>x\\</b> | openai:a\\|b |');
    expect(md).toContain('| 50.0 [35.0-65.0] |');
    expect(md.match(/n per metric: typical 40/g)).toHaveLength(1);
    expect(md).not.toMatch(/n=40/);
    expect(md).toContain('Higher is better: typical.');
  });
});

describe('id order', () => {
  it('numeric-aware: 2 before 10, img-9 before img-10', () => {
    expect(['10', '2', '1'].sort(compareIds)).toEqual(['1', '2', '10']);
    expect(inIdOrder([{ sampleId: 'img-10' }, { sampleId: 'img-9' }, { sampleId: 'a' }]).map((r) => r.sampleId)).toEqual(['a', 'img-9', 'img-10']);
  });
});
