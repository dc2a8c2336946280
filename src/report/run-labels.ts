import { modelName } from '../store/run-names.ts';
import type { RunRecord } from '../store/store.ts';

/**
 * What a run is called in tables, sentences and charts: its model's name with its method and
 * ablation (`gpt-4o`, `gpt-4o cot`), which a reader recognises, rather than a run id that may be
 * long. Runs that would share a label are told apart by their run id: the id itself when it
 * extends the label (`gpt-4o-2`), else the label with the id in brackets.
 */
export function runLabels(runs: Pick<RunRecord, 'id' | 'model' | 'config'>[]): Map<string, string> {
  const base = new Map(runs.map((r) => [r.id, baseLabel(r)]));
  const count = new Map<string, number>();
  for (const label of base.values()) count.set(label, (count.get(label) ?? 0) + 1);
  return new Map(
    runs.map((r) => {
      const label = base.get(r.id)!;
      if (count.get(label) === 1) return [r.id, label];
      return [r.id, r.id.startsWith(label.replaceAll(' ', '-')) ? r.id : `${label} [${r.id}]`];
    }),
  );
}

function baseLabel(run: Pick<RunRecord, 'model' | 'config'>): string {
  const c = (run.config?.run ?? {}) as { method?: string; ablation?: string };
  return [modelName(run.model), c.method, c.ablation].filter(Boolean).join(' ');
}
