import { StoredRunConfigSchema, type RunConfigInput, type StoredRunConfig, type StoredRunConfigInput } from '../../src/runner/config.ts';

/** A valid stored run configuration for tests that write runs by hand (no dataset behind it). */
export function storedConfig(run: Partial<RunConfigInput> = {}, extra: Partial<StoredRunConfigInput> = {}): StoredRunConfig {
  return StoredRunConfigSchema.parse({ version: 1, ...extra, run: { data: '/nonexistent/mmsafe-test-data', model: 'openai:x', ...run } });
}
