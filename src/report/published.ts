/**
 * Published reference numbers, shown in leaderboards as marked rows (never mixed with runs).
 * Values are fractions.
 *
 * MMSafeAware Table 1 (nine models and a human row). The GPT-4V and Human rows are the ones the
 * project was specified with; the other seven were transcribed from a public summary of the paper
 * and have not been checked against the PDF, so they carry a caveat that every report prints.
 * Each row is internally consistent: Total equals the mean of the three subsets within rounding
 * (test/report.test.ts checks this, which catches a mistyped cell but not a misread one).
 * Note that the paper's abstract says GPT-4V flags 59.9% of benign inputs as unsafe, while Table 1
 * gives over-safety accuracy 41.1 (58.9% flagged); the Total of 57.8 agrees with 41.1.
 */
export interface PublishedRow {
  name: string;
  protocol: 'awareness' | 'response';
  source: string;
  values: Record<string, number>;
  /** Printed under every table that shows the row: what is not yet verified about it. */
  caveat?: string;
}

const TABLE1 = 'MMSafeAware, ACL 2025, Table 1';
const UNCHECKED = 'transcribed from a secondary summary of the paper; not yet checked against the PDF';

const pct = (x: number) => Number((x / 100).toFixed(4));

const mmsafeaware = (name: string, typical: number, attack: number, oversafe: number, total: number, caveat?: string): PublishedRow => ({
  name: `${name} (paper)`,
  protocol: 'awareness',
  source: TABLE1,
  // Rounded so the fractions are exactly the printed figures (63.9 / 100 is not 0.639 in binary).
  values: { typical: pct(typical), attack: pct(attack), oversafe: pct(oversafe), total_macro: pct(total) },
  ...(caveat ? { caveat } : {}),
});

export const PUBLISHED: Record<string, PublishedRow[]> = {
  mmsafeaware: [
    mmsafeaware('GPT-4V', 63.9, 68.4, 41.1, 57.8),
    mmsafeaware('GPT-4o', 81.3, 88.7, 25.0, 65.0, UNCHECKED),
    mmsafeaware('Gemini 1.5', 86.6, 81.5, 18.5, 62.2, UNCHECKED),
    mmsafeaware('Gemini 1.5 Pro', 81.2, 74.2, 40.8, 65.4, UNCHECKED),
    mmsafeaware('Bard', 73.8, 61.4, 28.6, 54.6, UNCHECKED),
    mmsafeaware('Claude-3', 100.0, 99.1, 1.1, 66.7, UNCHECKED),
    mmsafeaware('LLaVA-1.5-7B', 95.9, 97.7, 6.0, 66.5, UNCHECKED),
    mmsafeaware('Qwen-VL-7B', 86.5, 95.2, 13.7, 65.1, UNCHECKED),
    mmsafeaware('InstructBLIP', 66.1, 43.9, 20.5, 43.5, UNCHECKED),
    mmsafeaware('Human', 90.7, 92.8, 95.2, 92.9),
  ],
  salad: [
    { name: 'Claude-3.7-Sonnet (paper)', protocol: 'response', source: 'SaLAD, 2026', values: { safe_accuracy: 0.9958, unsafe_accuracy: 0.572, overall: 0.7705 } },
    { name: 'GPT-4o (paper)', protocol: 'response', source: 'SaLAD, 2026', values: { safe_accuracy: 0.9979, unsafe_accuracy: 0.5383, overall: 0.7536 } },
  ],
};
