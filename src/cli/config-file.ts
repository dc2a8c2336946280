import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RunConfigSchema, type RunConfigInput } from '../runner/config.ts';
import { UsageError } from './usage.ts';

const PATH_KEYS = ['data', 'images', 'prices'] as const;

/**
 * `--config FILE`: the settings of a run as JSON, with the same names as the stored run config
 * (benchmark, data, model, baseURL, concurrency, judge, method, ...). Flags on the command line
 * override it; relative paths are relative to the file. A mistake is one line naming the file and
 * the setting, before anything runs.
 */
export function readConfigFile(file: string): RunConfigInput {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${file}: cannot read the config (${(error as Error).message})`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file}: expected a JSON object of settings`);
  const parsed = RunConfigSchema.partial().strict().safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.join(', ') : '');
    throw new UsageError(`${file}: setting "${where}": ${issue.message}`);
  }
  const base = path.dirname(path.resolve(file));
  const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const k of PATH_KEYS) if (typeof out[k] === 'string') out[k] = path.resolve(base, out[k] as string);
  const mo = out.methodOptions as Record<string, unknown> | undefined;
  if (mo) for (const k of ['shots', 'prompts']) if (typeof mo[k] === 'string') mo[k] = path.resolve(base, mo[k] as string);
  return out as RunConfigInput;
}
