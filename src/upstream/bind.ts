import type { ProtocolSpec } from '../benchmarks/types.ts';
import { readTemplateFile, resolveTemplates, type TemplateSource } from './template.ts';

/**
 * A protocol spec with its upstream parts filled in: the templates are read from the repository at
 * `data` (or the --judge-prompts file, or the benchmark's marked fallback) and handed to the
 * benchmark's `bind`. Specs without upstream parts come back unchanged.
 */
export function bindUpstream(spec: ProtocolSpec, data: string, judgePromptsFile?: string): { spec: ProtocolSpec; templates?: TemplateSource[] } {
  if (!spec.upstream) return { spec };
  const overrides = judgePromptsFile ? readTemplateFile(judgePromptsFile) : undefined;
  const { templates, sources } = resolveTemplates(spec.upstream.templates, spec.upstream.pin, { root: data, overrides, fallbacks: spec.upstream.fallbacks });
  const bound = spec.upstream.bind(templates);
  return { spec: { ...spec, ...bound, generation: { ...spec.generation, ...bound.generation } }, templates: sources };
}
