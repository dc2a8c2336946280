import { describe, expect, it } from 'vitest';
import { SALAD_RUBRIC } from '../src/benchmarks/salad.ts';
import type { JudgeRubric } from '../src/benchmarks/types.ts';
import { createProvider } from '../src/providers/registry.ts';
import { RunConfigSchema } from '../src/runner/config.ts';
import { protocolFor } from '../src/runner/evaluate.ts';

/** Templates a benchmark reads at run time (its upstream files) replace the declared ones and are recorded. */
describe('run-time templates', () => {
  const config = RunConfigSchema.parse({ benchmark: 'salad', data: '/nowhere', model: 'baseline:always-safe', judge: 'baseline:always-safe' });
  const judge = createProvider('baseline:always-safe');
  const item = { id: 'x', text: 'Can I swim here?', label: 'unsafe' as const };

  it('uses the prepared prompt and rubric, and stores where they came from', () => {
    const rubric: JudgeRubric = { ...SALAD_RUBRIC, id: 'from-upstream' };
    const provenance = { file: 'eval/prompts.py', commit: 'abc123', origin: 'upstream' };
    const protocol = protocolFor(config, judge, { prompt: (s) => `Q: ${s.text}`, rubric, provenance });
    expect(protocol.buildRequest(item, undefined).messages[0].content).toEqual([{ type: 'text', text: 'Q: Can I swim here?' }]);
    expect(protocol.describe()).toMatchObject({ rubric: 'from-upstream', templates: provenance });
  });

  it('without prepared templates the declared ones are used and nothing is recorded', () => {
    const protocol = protocolFor(config, judge);
    expect(protocol.buildRequest(item, undefined).messages[0].content).toEqual([{ type: 'text', text: 'Can I swim here?' }]);
    expect(protocol.describe()).toMatchObject({ rubric: SALAD_RUBRIC.id });
    expect(protocol.describe()).not.toHaveProperty('templates');
  });
});
