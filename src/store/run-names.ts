import type { Store } from './store.ts';

/** A run name that matches no run, or several. */
export class RunNameError extends Error {}

/**
 * The default name of a new run: the model's own name (`openai:gpt-4o` -> `gpt-4o`,
 * `openai:Qwen/Qwen2.5-VL-7B` -> `Qwen2.5-VL-7B`), with its method and ablation, and `-2`, `-3`...
 * when taken. Short enough to type; the date is kept as a column of its own.
 */
export async function defaultRunId(store: Store, run: { model: string; method?: string; ablation?: string }): Promise<string> {
  const name = modelName(run.model);
  const base = [name, run.method, run.ablation].filter((s): s is string => Boolean(s)).map(slug).join('-') || 'run';
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if (!(await store.getRun(id))) return id;
  }
}

/** A model spec's own name: `openai:gpt-4o` -> `gpt-4o`, `openai:Qwen/Qwen2.5-VL-7B` -> `Qwen2.5-VL-7B`. */
export function modelName(model: string): string {
  return model.slice(model.indexOf(':') + 1).split('/').filter(Boolean).pop() ?? model;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60);

/**
 * The run a person means: its full id, `latest` (the newest), or a prefix that only one run has
 * (case-insensitive when nothing matches exactly). Otherwise a message naming the closest runs.
 */
export async function resolveRunName(store: Store, name: string): Promise<string> {
  if (name !== 'latest' && (await store.getRun(name))) return name;
  const runs = (await store.listRuns()).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (name === 'latest') {
    if (!runs.length) throw new RunNameError('no runs in this database yet, so no "latest" (see `mmsafe runs`)');
    return runs[0].id;
  }
  const ids = runs.map((r) => r.id);
  const lower = name.toLowerCase();
  const matches = ids.filter((id) => id.startsWith(name)).length ? ids.filter((id) => id.startsWith(name)) : ids.filter((id) => id.toLowerCase().startsWith(lower));
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) throw new RunNameError(`"${name}" matches ${matches.length} runs: ${list(matches)}; give more of the name`);
  const near = ids.map((id) => ({ id, d: distance(lower, id.toLowerCase().slice(0, Math.max(lower.length, 1) + 2)) })).filter((x) => x.d <= Math.max(2, Math.floor(name.length / 3)));
  near.sort((a, b) => a.d - b.d);
  const hint = near.length ? `; did you mean ${list(near.slice(0, 3).map((x) => x.id), ' or ')}?` : ids.length ? ` (runs: ${list(ids)})` : ' (no runs stored yet)';
  throw new RunNameError(`no run named "${name}" in this database${hint} (see \`mmsafe runs\`)`);
}

export async function resolveRunNames(store: Store, names: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const n of names) out.push(await resolveRunName(store, n));
  return out;
}

function list(ids: string[], last = ', '): string {
  const shown = ids.slice(0, 6);
  const text = shown.length > 1 ? `${shown.slice(0, -1).join(', ')}${last}${shown.at(-1)}` : (shown[0] ?? '');
  return ids.length > shown.length ? `${text}, ... (+${ids.length - shown.length})` : text;
}

/** Levenshtein distance: how many typed characters separate a name from a stored one. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length];
}
