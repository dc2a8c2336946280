import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RunConfigSchema, type RunConfigInput } from '../runner/config.ts';
import { UsageError } from './usage.ts';

const PATH_KEYS = ['data', 'images', 'prices'] as const;

/** The settings of a config file, and its list of models when it names several. */
export interface ConfigFile {
  settings: RunConfigInput;
  /** `"model": [...]` or `"models": [...]`: one run each; an entry is a model spec or its own settings. */
  models?: Partial<RunConfigInput>[];
}

/**
 * `--config FILE`: the settings of a run as JSON, with the same names as the stored run config
 * (benchmark, data, model, baseURL, concurrency, judge, method, ...). Flags on the command line
 * override it; relative paths are relative to the file. A mistake is one line naming the file and
 * the setting, before anything runs.
 */
export function readConfigFile(file: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: cannot read the config (${(error as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: expected a JSON object of settings`);
  const { models: list, ...rest } = raw as Record<string, unknown>;
  const modelList = list ?? (Array.isArray(rest.model) ? rest.model : undefined);
  if (Array.isArray(rest.model)) delete rest.model;
  const settings = checked(file, rest, '');
  if (modelList === undefined) return { settings };
  if (!Array.isArray(modelList) || modelList.length === 0) throw new UsageError(`${file}: setting "models": expected a list of provider:model specs or objects with a "model"`);
  const models = modelList.map((entry, i) => {
    const where = `models.${i}.`;
    if (typeof entry === 'string') return checked(file, { model: entry }, where);
    if (!entry || typeof entry !== 'object' || typeof (entry as { model?: unknown }).model !== 'string') {
      throw new UsageError(`${file}: setting "models.${i}": expected "provider:model" or an object with a "model"`);
    }
    return checked(file, entry as Record<string, unknown>, where);
  });
  return { settings, models };
}

function checked(file: string, raw: Record<string, unknown>, prefix: string): RunConfigInput {
  const parsed = RunConfigSchema.partial().strict().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.join(', ') : '');
    throw new UsageError(`${file}: setting "${prefix}${where}": ${issue.message}`);
  }
  const base = path.dirname(path.resolve(file));
  const out: Record<string, unknown> = { ...raw };
  for (const k of PATH_KEYS) if (typeof out[k] === 'string') out[k] = path.resolve(base, out[k] as string);
  const mo = out.methodOptions as Record<string, unknown> | undefined;
  if (mo) for (const k of ['shots', 'prompts']) if (typeof mo[k] === 'string') mo[k] = path.resolve(base, mo[k] as string);
  return out as RunConfigInput;
}
