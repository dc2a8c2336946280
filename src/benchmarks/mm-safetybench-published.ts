/**
 * MM-SafetyBench's published attack success rates (Liu et al., arXiv 2311.17600 / ECCV 2024), as the
 * paper's results tables print them: percent per scenario (upstream's file order, 01-13) and image
 * kind, judged by GPT-4. Read from the tables as the authors publish them on their project page
 * (github.com/isXinLiu/isXinLiu.github.io at ef5db87, static/Project/MM-SafetyBench/static/images/):
 * mm_safety_experiment_results.png ("Evaluation on LLaVA-1.5-7B and LLaVA-1.5-13B") and
 * mm_safety_minigpt4.png ("Evaluation on MiniGPT-4"). The paper's other nine models are drawn only
 * as radar charts (mm_safety_12.jpg), which give no numbers to read, so they are not here. The
 * text-only column is left out: it is not an image kind mmsafe runs.
 */
import type { ImageKind } from './mm-safetybench.ts';

/** The scenarios in upstream's order, with their question counts at the pin (data/processed_questions). */
export const MMSB_SCENARIOS: readonly [string, number][] = [
  ['01-Illegal_Activitiy', 97],
  ['02-HateSpeech', 163],
  ['03-Malware_Generation', 44],
  ['04-Physical_Harm', 144],
  ['05-EconomicHarm', 122],
  ['06-Fraud', 154],
  ['07-Sex', 109],
  ['08-Political_Lobbying', 153],
  ['09-Privacy_Violence', 139],
  ['10-Legal_Opinion', 130],
  ['11-Financial_Advice', 167],
  ['12-Health_Consultation', 109],
  ['13-Gov_Decision', 149],
];

export interface MmsbPaperTable {
  model: string;
  table: string;
  /** Percent per scenario (order of MMSB_SCENARIOS), per image kind (paper: SD, Typo., SD+Typo.). */
  asr: Record<ImageKind, number[]>;
  /**
   * The table's "Average" row per image kind: the unweighted mean over the 13 scenarios, except
   * MiniGPT-4's SD, printed 41.82 where its cells average 36.85 (kept as printed; not used).
   */
  average: Record<ImageKind, number>;
}

const LLAVA_TABLE = 'table "Evaluation on LLaVA-1.5-7B and LLaVA-1.5-13B" (mm_safety_experiment_results.png)';

export const MMSB_PAPER_TABLES: readonly MmsbPaperTable[] = [
  {
    model: 'LLaVA-1.5-7B',
    table: LLAVA_TABLE,
    asr: {
      SD: [22.68, 16.56, 20.45, 20.14, 4.1, 20.13, 11.93, 73.86, 12.95, 92.31, 97.0, 99.08, 98.66],
      TYPO: [79.38, 39.88, 65.91, 60.42, 14.75, 72.73, 53.21, 94.77, 55.4, 94.62, 99.4, 100, 99.33],
      SD_TYPO: [77.32, 47.85, 70.45, 62.5, 15.57, 66.88, 53.21, 96.73, 51.08, 96.92, 100, 100, 99.33],
    },
    average: { SD: 45.37, TYPO: 71.52, SD_TYPO: 72.14 },
  },
  {
    model: 'LLaVA-1.5-13B',
    table: LLAVA_TABLE,
    asr: {
      SD: [25.77, 14.11, 11.36, 22.22, 4.1, 20.13, 13.76, 69.93, 17.27, 93.85, 98.8, 99.08, 96.64],
      TYPO: [81.44, 47.24, 59.09, 59.72, 16.39, 75.32, 49.54, 94.77, 59.71, 95.38, 99.4, 100, 100],
      SD_TYPO: [80.41, 44.79, 68.18, 63.19, 13.93, 74.03, 46.79, 96.08, 64.75, 96.92, 98.8, 100, 100],
    },
    average: { SD: 45.16, TYPO: 72.15, SD_TYPO: 72.91 },
  },
  {
    model: 'MiniGPT-4',
    table: 'table "Evaluation on MiniGPT-4" (mm_safety_minigpt4.png)',
    asr: {
      SD: [6.19, 5.52, 2.27, 15.28, 1.64, 3.9, 11.93, 64.05, 5.04, 87.69, 92.81, 98.17, 84.56],
      TYPO: [11.34, 6.75, 27.27, 30.56, 5.74, 18.18, 26.61, 86.27, 12.23, 93.85, 97.01, 97.25, 95.3],
      SD_TYPO: [17.53, 12.88, 22.73, 27.08, 5.74, 17.53, 22.94, 83.01, 16.55, 86.92, 95.81, 98.17, 91.95],
    },
    average: { SD: 41.82, TYPO: 46.8, SD_TYPO: 46.06 },
  },
];

/** A printed percent back to the count of unsafe answers among a scenario's n questions. */
export const unsafeCount = (percent: number, n: number): number => Math.round((percent * n) / 100);

const KINDS: ImageKind[] = ['SD', 'SD_TYPO', 'TYPO'];

/**
 * A table as leaderboard values: every printed cell is k/n for its scenario's n, so the counts are
 * exact and the rates over all questions (the run's own denominator) follow: per image kind, and
 * attack_success_rate over all 5,040 samples. The paper's Average row (a mean over scenarios) is
 * not the same quantity and is not shown as one of these.
 */
export function publishedValues(t: MmsbPaperTable): Record<string, number> {
  const total = MMSB_SCENARIOS.reduce((s, [, n]) => s + n, 0);
  const unsafe = Object.fromEntries(KINDS.map((k) => [k, t.asr[k].reduce((s, p, i) => s + unsafeCount(p, MMSB_SCENARIOS[i][1]), 0)]));
  return { attack_success_rate: KINDS.reduce((s, k) => s + unsafe[k], 0) / (3 * total), ...Object.fromEntries(KINDS.map((k) => [k, unsafe[k] / total])) };
}
