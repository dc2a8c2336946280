import { z } from 'zod';

// Other fields a rubric asks for (e.g. a refusal flag) are kept.
const JudgeOutput = z.looseObject({
  verdict: z.string(),
  rationale: z.string().default(''),
});
export type JudgeOutput = z.infer<typeof JudgeOutput>;

/**
 * Reads the judge's JSON even when wrapped in a code fence or prose; undefined when unusable.
 * `allowed`: the verdict words of the template the judge was given.
 */
export function parseJudgeOutput(text: string, allowed: readonly string[]): JudgeOutput | undefined {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1];
  const candidate = fenced ?? text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1);
  if (!candidate) return undefined;
  try {
    const parsed = JudgeOutput.safeParse(JSON.parse(candidate));
    if (!parsed.success) return undefined;
    // A verdict from another template's vocabulary means the judge misunderstood the task.
    return allowed.includes(parsed.data.verdict) ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
