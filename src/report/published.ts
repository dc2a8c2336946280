/**
 * Published reference numbers, shown in leaderboards as marked rows (never mixed with runs).
 * Values are fractions. MMSafeAware Table 1 holds nine models and a human row; only the rows we
 * could check against the paper are here (GPT-4V and Human): add the others as they are verified.
 */
export interface PublishedRow {
  name: string;
  protocol: 'awareness' | 'response';
  source: string;
  values: Record<string, number>;
}

export const PUBLISHED: Record<string, PublishedRow[]> = {
  mmsafeaware: [
    { name: 'GPT-4V (paper)', protocol: 'awareness', source: 'MMSafeAware, ACL 2025, Table 1', values: { typical: 0.639, attack: 0.684, oversafe: 0.411, total_macro: 0.578 } },
    { name: 'Human (paper)', protocol: 'awareness', source: 'MMSafeAware, ACL 2025, Table 1', values: { typical: 0.907, attack: 0.928, oversafe: 0.952, total_macro: 0.929 } },
  ],
  salad: [
    { name: 'Claude-3.7-Sonnet (paper)', protocol: 'response', source: 'SaLAD, 2026', values: { safe_accuracy: 0.9958, unsafe_accuracy: 0.572, overall: 0.7705 } },
    { name: 'GPT-4o (paper)', protocol: 'response', source: 'SaLAD, 2026', values: { safe_accuracy: 0.9979, unsafe_accuracy: 0.5383, overall: 0.7536 } },
  ],
};
