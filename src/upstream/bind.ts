import { createHash } from 'node:crypto';
import type { ProtocolSpec, UserTemplates } from '../benchmarks/types.ts';
import { fillTemplate, readTemplateFile, resolveTemplates, TemplateError, type TemplateSource, type UpstreamTemplates } from './template.ts';

/**
 * A protocol spec with its upstream parts filled in: the templates are read from the repository at
 * `data` (or the --judge-prompts file, or the benchmark's marked fallback) and handed to the
 * benchmark's `bind`. A spec whose rubric is mmsafe's own takes a --judge-prompts file's templates
 * where it declares `userTemplates`. Other specs come back unchanged.
 */
export function bindUpstream(spec: ProtocolSpec, data: string, judgePromptsFile?: string): { spec: ProtocolSpec; templates?: TemplateSource[] } {
  if (!spec.upstream) return spec.userTemplates && judgePromptsFile ? bindUserTemplates(spec, spec.userTemplates, judgePromptsFile) : { spec };
  const overrides = judgePromptsFile ? readTemplateFile(judgePromptsFile) : undefined;
  const { templates, sources } = resolveTemplates(spec.upstream.templates, spec.upstream.pin, { root: data, overrides, fallbacks: spec.upstream.fallbacks });
  const bound = spec.upstream.bind(templates);
  return { spec: { ...spec, ...bound, generation: { ...spec.generation, ...bound.generation } }, templates: sources };
}

/** The judge templates of a --judge-prompts file in place of mmsafe's wording (those it lacks keep mmsafe's, and are recorded so). */
function bindUserTemplates(spec: ProtocolSpec, user: UserTemplates, file: string): { spec: ProtocolSpec; templates: TemplateSource[] } {
  const texts = readTemplateFile(file);
  const given = user.templates.filter((t) => texts[t.name] !== undefined);
  if (!given.length) throw new TemplateError(`${file}: none of the templates this protocol takes (${user.templates.map((t) => t.name).join(', ')})`);
  for (const t of given) {
    const missing = t.fields.filter((f) => !texts[t.name].includes(`{${f}}`));
    if (missing.length) throw new TemplateError(`template "${t.name}" (judge-prompts) has no ${missing.map((f) => `{${f}}`).join(', ')}`);
  }
  const byName = new Map(user.templates.map((t) => [t.name, t]));
  const templates: UpstreamTemplates = {
    text: (name) => texts[name],
    fill: (name, values) => fillTemplate({ text: texts[name], fill: 'replace', fields: [...(byName.get(name)?.fields ?? []), ...(byName.get(name)?.optional ?? [])] }, values),
  };
  const rubric = user.bind(templates, new Set(given.map((t) => t.name)));
  const sources: TemplateSource[] = user.templates.map((t) =>
    texts[t.name] !== undefined
      ? { name: t.name, origin: 'judge-prompts', sha256: createHash('sha256').update(texts[t.name]).digest('hex') }
      : { name: t.name, origin: 'mmsafe-fallback', sha256: '', note: `not in ${file}: mmsafe's own wording` },
  );
  return { spec: { ...spec, scorer: { kind: 'judge', rubric } }, templates: sources };
}
