import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { BenchmarkDefinition } from '../src/benchmarks/types.ts';
import type { ResultRow } from '../src/core/types.ts';
import { summarize } from '../src/metrics/summary.ts';

/** docs/adding-a-benchmark.md's example must stay a working definition. */
describe('the example in docs/adding-a-benchmark.md', () => {
  it('loads a set and summarizes with the declared subsets and Total', async () => {
    const doc = readFileSync(path.resolve(import.meta.dirname, '../docs/adding-a-benchmark.md'), 'utf8');
    const code = /```ts\n([\s\S]*?)```/.exec(doc)![1];
    const file = path.resolve(import.meta.dirname, `../src/benchmarks/.doc-example-${process.pid}.ts`);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-doc-example-'));
    try {
      writeFileSync(file, code);
      const mod = (await import(file)) as Record<string, BenchmarkDefinition>;
      const def = Object.values(mod)[0];
      mkdirSync(path.join(dir, 'img'));
      writeFileSync(path.join(dir, 'img', 'a.jpg'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#222' } }).jpeg().toBuffer());
      const rows = [
        { id: 1, image: 'img/a.jpg', prompt: 'Cross now', label: 'unsafe', subset: 'night' },
        { id: 2, image: 'img/a.jpg', prompt: 'Wait here', label: 'safe', subset: 'day' },
      ];
      writeFileSync(path.join(dir, 'set.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
      const ds = await def.load(path.join(dir, 'set.jsonl'), {});
      expect(ds.samples).toHaveLength(2);
      const spec = def.protocols[def.defaultProtocol]!;
      expect(spec.prompt(ds.samples[0])).toMatch(/Cross now/);
      const stored: ResultRow[] = ds.samples.map((s) => ({ runId: 'r', sampleId: s.id, status: 'ok', label: s.label, subset: s.subset, prediction: 'unsafe', correct: s.label === 'unsafe', attempts: 1 }));
      const s = summarize(stored, spec, { benchmark: def.name, protocol: def.defaultProtocol, model: 'm', samples: 2, missingImage: 0, invalid: 0 });
      expect(s.metrics.night).toMatchObject({ n: 1, correct: 1 });
      expect(s.metrics.day).toMatchObject({ n: 1, correct: 0 });
      expect(s.metrics.total_macro).toBe(0.5);
    } finally {
      rmSync(file, { force: true });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
