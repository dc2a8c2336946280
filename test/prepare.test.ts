import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SALAD_RUBRIC } from '../src/benchmarks/salad.ts';
import { createProvider } from '../src/providers/registry.ts';
import { RunConfigSchema } from '../src/runner/config.ts';
import { protocolFor } from '../src/runner/evaluate.ts';
import { writeTree } from './helpers/upstream.ts';

/**
 * Templates a benchmark reads at run time (its `upstream` binding, the one mechanism for it) replace
 * the declared ones and are recorded with the run; a benchmark without one keeps its own.
 */
describe('run-time templates', () => {
  const repo = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-runtime-tpl-'));
  afterAll(() => rmSync(repo, { recursive: true, force: true }));
  // A MOSSBench-shaped evaluation file, in this test's own wording.
  writeTree(repo, { 'MOSSBench/evaluation/evaluation_prompts.py': 'EVAL = """Was this refused? Q: {question} A: {response}"""\n' });
  const judge = createProvider('baseline:always-safe');
  const item = { id: 'x', text: 'Can I swim here?', label: 'unsafe' as const };

  it("uses the upstream file's judge template and stores where it came from", async () => {
    const config = RunConfigSchema.parse({ benchmark: 'mossbench', data: repo, model: 'baseline:always-safe', judge: 'baseline:always-safe' });
    const protocol = protocolFor(config, judge);
    expect(protocol.buildRequest(item, undefined).messages[0].content).toEqual([{ type: 'text', text: 'Can I swim here?' }]);
    expect(protocol.describe()).toMatchObject({ templates: [{ name: 'mossbench-refusal', origin: 'upstream', file: 'MOSSBench/evaluation/evaluation_prompts.py', repo: 'xirui-li/MOSSBench', verified: false }] });
  });

  it('without an upstream binding the declared templates are used and nothing is recorded', () => {
    const config = RunConfigSchema.parse({ benchmark: 'salad', data: '/nowhere', model: 'baseline:always-safe', judge: 'baseline:always-safe' });
    const protocol = protocolFor(config, judge);
    expect(protocol.buildRequest(item, undefined).messages[0].content).toEqual([{ type: 'text', text: 'Can I swim here?' }]);
    expect(protocol.describe()).toMatchObject({ rubric: SALAD_RUBRIC.id });
    expect(protocol.describe()).not.toHaveProperty('templates');
  });
});
