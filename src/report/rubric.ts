import type { TemplateSource } from '../upstream/template.ts';

/**
 * Which judge rubric a judged run used, as every report names it: mmsafe's own wording (the
 * benchmark's built-in rubric, or its marked fallback), a user's --judge-prompts file (path and
 * sha256), or the benchmark's upstream files (repository, commit, whether the file matched).
 */
export interface JudgeRubricInfo {
  /** The rubric's id as stored with the run (the benchmark rubric's own id). */
  id: string;
  /** Where its wording came from; `mixed` when its templates came from more than one place. */
  origin: 'mmsafe' | 'upstream' | 'judge-prompts' | 'mmsafe-fallback' | 'mixed';
  /** --judge-prompts: the file and the sha256 of its bytes at run start. */
  judge_prompts?: { file: string; sha256?: string };
  /** Upstream templates: the files read, at which repository and commit. */
  upstream?: { file: string; repo?: string; commit?: string; verified?: boolean }[];
  /** One line for tables: the same facts in words. */
  description: string;
}

/** What a run stores about its judge (its protocol settings and run settings). */
export interface StoredJudgeFacts {
  rubric?: unknown;
  templates?: TemplateSource[];
  judgePromptsFile?: string;
  judgePrompts?: { file?: string; sha256?: string };
}

const short = (s: string | undefined) => (s ? s.slice(0, 12) : '');

export function judgeRubricOf(facts: StoredJudgeFacts): JudgeRubricInfo {
  const id = typeof facts.rubric === 'string' ? facts.rubric : 'unknown';
  const templates = facts.templates ?? [];
  if (!templates.length) return { id, origin: 'mmsafe', description: `judge rubric ${id}: mmsafe's own wording` };
  const origins = new Set(templates.map((t) => t.origin));
  const origin = origins.size > 1 ? 'mixed' : ([...origins][0] as JudgeRubricInfo['origin']);
  const parts: string[] = [];
  const out: JudgeRubricInfo = { id, origin, description: '' };
  const given = templates.filter((t) => t.origin === 'judge-prompts');
  if (given.length) {
    const file = facts.judgePrompts?.file ?? facts.judgePromptsFile ?? 'unknown file';
    out.judge_prompts = { file, ...(facts.judgePrompts?.sha256 ? { sha256: facts.judgePrompts.sha256 } : {}) };
    parts.push(`--judge-prompts ${file} (${facts.judgePrompts?.sha256 ? `sha256 ${short(facts.judgePrompts.sha256)}` : 'hash not recorded'}) for ${given.map((t) => t.name).join(', ')}`);
  }
  const upstream = templates.filter((t) => t.origin === 'upstream');
  if (upstream.length) {
    const files = [...new Map(upstream.map((t) => [t.file, t])).values()];
    out.upstream = files.map((t) => ({ file: t.file ?? '', repo: t.repo, commit: t.commit, verified: t.verified }));
    parts.push(...files.map((t) => `upstream ${t.file} at ${t.repo}@${short(t.commit)}${t.verified === false ? ' (file differs from that commit)' : ''}`));
  }
  const fallback = templates.filter((t) => t.origin === 'mmsafe-fallback');
  if (fallback.length) parts.push(`mmsafe's own fallback wording for ${fallback.map((t) => t.name).join(', ')}`);
  out.description = `judge rubric ${id}: ${parts.join('; ')}`;
  return out;
}
