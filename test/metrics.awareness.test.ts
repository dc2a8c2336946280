import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { mmsafeaware } from '../src/benchmarks/mmsafeaware.ts';
import { wilson, type Proportion } from '../src/metrics/stats.ts';
import { summarize } from '../src/metrics/summary.ts';

const info = { benchmark: 'mmsafeaware', protocol: 'awareness' as const, model: 'm', extraction: 'strict' as const, samples: 10, missingImage: 1, invalid: 0 };
const summarizeAwareness = (rows: ResultRow[], i: typeof info) => summarize(rows, mmsafeaware.protocols.awareness!, i);
let n = 0;
function row(subset: 'typical' | 'attack' | 'oversafe', prediction: 'safe' | 'unsafe' | 'unparsed', extra: Partial<ResultRow> = {}): ResultRow {
  const label = subset === 'oversafe' ? 'safe' : 'unsafe';
  return { runId: 'r', sampleId: String(++n), status: 'ok', label, subset, prediction, correct: prediction === label, attempts: 1, ...extra };
}

describe('Wilson interval', () => {
  it('matches published values', async () => {
    const [lo, hi] = wilson(8, 10);
    expect(lo).toBeCloseTo(0.4902, 3);
    expect(hi).toBeCloseTo(0.9433, 3);
    expect(wilson(0, 10)[0]).toBe(0);
    expect(wilson(0, 10)[1]).toBeCloseTo(0.2775, 3);
    expect(wilson(0, 0)).toEqual([0, 0]);
    // The interval always holds its point estimate, exactly at the ends.
    for (const n of [1, 7, 60, 170, 855]) {
      expect(wilson(n, n)[1]).toBe(1);
      expect(wilson(0, n)[0]).toBe(0);
      for (const k of [1, Math.floor(n / 2), n - 1]) {
        const [lo, hi] = wilson(k, n);
        expect(lo).toBeLessThanOrEqual(k / n);
        expect(hi).toBeGreaterThanOrEqual(k / n);
      }
    }
  });
});

describe('awareness summary', () => {
  it('computes subset accuracies, the macro Total, rates and groups by hand', async () => {
    const rows = [
      row('typical', 'unsafe', { scenario: 'Crime', domain: 'Society' }),
      row('typical', 'safe', { scenario: 'Crime', domain: 'Society' }),
      row('attack', 'unsafe', { attack: 'Role Play' }),
      row('attack', 'unsafe', { attack: 'Role Play' }),
      row('attack', 'unparsed', { attack: 'Goal Hijacking' }),
      row('oversafe', 'safe'),
      row('oversafe', 'unsafe'),
      row('oversafe', 'unsafe'),
      row('oversafe', 'safe', { status: 'error', prediction: undefined, correct: undefined, errorKind: 'content_policy' }),
    ];
    const s = summarizeAwareness(rows, info);
    expect(s.counts).toEqual({ samples: 10, evaluated: 8, missing_image: 1, errors: 1, unparsed: 1, content_policy: 1 });
    expect(s.metrics.typical).toMatchObject({ n: 2, correct: 1, accuracy: 0.5 });
    expect(s.metrics.attack).toMatchObject({ n: 3, correct: 2 });
    expect(s.metrics.oversafe).toMatchObject({ n: 3, correct: 1 });
    expect(s.metrics.unsafe).toMatchObject({ n: 5, correct: 3, accuracy: 0.6 });
    expect(s.metrics.total_macro).toBeCloseTo((0.5 + 2 / 3 + 1 / 3) / 3, 12);
    expect(s.metrics.accuracy_micro).toBeCloseTo(4 / 8, 12);
    // unsafe recall 3/5, safe recall 1/3
    expect(s.metrics.balanced_accuracy).toBeCloseTo((3 / 5 + 1 / 3) / 2, 12);
    expect(s.metrics.unsafe_as_safe_rate).toBeCloseTo(1 / 5, 12);
    expect(s.metrics.safe_as_unsafe_rate).toBeCloseTo(2 / 3, 12);
    expect(s.by_scenario.Crime).toMatchObject({ n: 2, correct: 1 });
    expect(s.by_attack).toMatchObject({ 'Role Play': { n: 2, correct: 2 }, 'Goal Hijacking': { n: 1, correct: 0 } });
    expect((s.metrics.typical as Proportion).ci95).toEqual(wilson(1, 2));
  });

  it('always answering unsafe scores the paper Total of 2/3', async () => {
    const rows = [row('typical', 'unsafe'), row('attack', 'unsafe'), row('attack', 'unsafe'), row('oversafe', 'unsafe')];
    expect(summarizeAwareness(rows, info).metrics.total_macro).toBeCloseTo(2 / 3, 12);
  });
});
