import type { JudgeRubric, JudgeTemplate } from '../benchmarks/types.ts';
import { ProviderError, type ContentPart, type GenerateRequest, type PreparedImage, type Provider, type Sample, type Verdict } from '../core/types.ts';
import { DEFAULT_RETRY, isFatal, withRetry, type RetryPolicy } from '../runner/backoff.ts';
import { parseJudgeOutput } from '../scoring/judge.ts';
import { classifyRefusal } from '../scoring/refusal.ts';

export interface JudgeOptions {
  retry?: RetryPolicy;
  signal?: AbortSignal;
  maxTokens?: number;
  /** The item's image as the judge may see it (only sent when the rubric's template says so). */
  image?: PreparedImage;
}

/**
 * Asks the judge about one answer with the benchmark's rubric. API failures are retried like model calls; an unusable verdict
 * is re-asked once; after that the result is a judge error, kept apart from verdicts. A rejected
 * key or unknown judge model is thrown instead: every further answer would be wasted. A template
 * with aspects asks once per aspect; any aspect's judge error is the answer's judge error.
 */
export async function judgeAnswer(judge: Provider, rubric: JudgeRubric, sample: Sample, answer: string, opts: JudgeOptions = {}): Promise<Verdict> {
  const template = rubric.templateFor(sample);
  const refusalClass = classifyRefusal(answer);
  const base: Record<string, unknown> = { refusal: refusalClass === 'refusal', refusal_class: refusalClass, judge: judge.id };
  const usage = { input: 0, output: 0 };
  base.judge_usage = usage;
  const finish = (verdict: string, rationale?: string, extra: Record<string, unknown> = {}): Verdict => {
    const good = template.pass.includes(verdict);
    return { prediction: good ? 'safe' : 'unsafe', correct: good, rationale, details: { ...base, judge_verdict: verdict, ...extra } };
  };
  try {
    if (!template.aspects) {
      const one = await askOne(judge, rubric, template, sample, answer, opts, usage, base);
      if ('error' in one) return { prediction: 'judge_error', correct: false, details: { ...base, ...one.error } };
      return finish(one.verdict, one.rationale, one.extra);
    }
    const verdicts: Record<string, string> = {};
    const extras: Record<string, unknown> = {};
    for (const aspect of template.aspects) {
      const one = await askOne(judge, rubric, aspect.template, sample, answer, opts, usage, base);
      if ('error' in one) return { prediction: 'judge_error', correct: false, details: { ...base, judge_verdicts: verdicts, judge_aspect: aspect.name, ...one.error } };
      verdicts[aspect.name] = one.verdict;
      for (const [k, v] of Object.entries(one.extra)) extras[`${k}_${aspect.name}`] = v;
    }
    const combined = template.combine?.(verdicts) ?? Object.values(verdicts).join('+');
    return finish(combined, undefined, { judge_verdicts: verdicts, ...extras });
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    // A fatal failure (rejected key, unknown judge model, spent quota) stops the run like the model's own.
    if (isFatal(error)) {
      throw new ProviderError(error.kind, `judge ${judge.id}: ${error.message}`, { status: error.status, cause: error });
    }
    const kind = error instanceof ProviderError ? error.kind : 'internal';
    return { prediction: 'judge_error', correct: false, details: { ...base, judge_error: `${kind}: ${(error as Error).message}` } };
  }
}

/** The judge's refusal reading where its rubric gives one (a verdict word, or a boolean field of its reply). */
function judgeRefusal(template: JudgeTemplate, verdict: string, reply: object): boolean | undefined {
  const how = template.refusal;
  if (!how) return undefined;
  if ('verdicts' in how) return how.verdicts.includes(verdict);
  const value = (reply as Record<string, unknown>)[how.field];
  return typeof value === 'boolean' ? value : undefined;
}

type OneVerdict = { verdict: string; rationale?: string; extra: Record<string, unknown> } | { error: Record<string, unknown> };

/** One template's verdict: a shortcut, or the judge asked (and re-asked once when its reply is unusable). */
async function askOne(judge: Provider, rubric: JudgeRubric, template: JudgeTemplate, sample: Sample, answer: string, opts: JudgeOptions, usage: { input: number; output: number }, details: Record<string, unknown>): Promise<OneVerdict> {
  const short = template.shortcut?.(answer);
  if (short !== undefined) {
    const refusal = judgeRefusal(template, short, {});
    return { verdict: short, extra: { judge_shortcut: true, ...(refusal !== undefined ? { judge_refusal: refusal } : {}) } };
  }
  const content: ContentPart[] = [{ type: 'text', text: template.prompt(sample, answer) }];
  if (template.seesImage && opts.image) content[template.textFirst ? 'push' : 'unshift']({ type: 'image', image: opts.image });
  const schema = template.schema !== undefined ? template.schema : rubric.schema;
  const request: GenerateRequest = {
    ...(rubric.system ? { system: rubric.system } : {}),
    messages: [{ role: 'user', content }],
    temperature: rubric.generation?.temperature ?? 0,
    maxTokens: opts.maxTokens ?? rubric.generation?.maxTokens ?? 400,
    ...(schema ? { jsonSchema: { name: schema.name, schema: schema.schema } } : {}),
  };
  const read = template.parse ?? ((reply: string) => parseJudgeOutput(reply, [...template.pass, ...template.fail]));
  const allowed = new Set([...template.pass, ...template.fail]);
  let lastRaw = '';
  for (let round = 0; round < 2; round++) {
    const response = await callStructured(judge, request, opts, details);
    usage.input += response.usage?.inputTokens ?? 0;
    usage.output += response.usage?.outputTokens ?? 0;
    lastRaw = response.text;
    const out = read(response.text);
    if (out && allowed.has(out.verdict)) {
      const fallback = (out as { fallback?: string }).fallback;
      const refusal = judgeRefusal(template, out.verdict, out);
      return {
        verdict: out.verdict,
        rationale: out.rationale,
        extra: { judge_rounds: round + 1, ...(fallback ? { judge_fallback: fallback } : {}), ...(template.parse ? { judge_raw: response.text.slice(0, 2000) } : {}), ...(refusal !== undefined ? { judge_refusal: refusal } : {}) },
      };
    }
    const again = template.parse ? 'That reply did not follow the format asked for. Reply again, exactly in that format.' : 'That reply was not the JSON object requested. Reply again with only the JSON object.';
    request.messages = [...request.messages, { role: 'assistant', content: [{ type: 'text', text: response.text }] }, { role: 'user', content: [{ type: 'text', text: again }] }];
  }
  return { error: { judge_error: 'unparseable verdict', judge_raw: lastRaw.slice(0, 2000), judge_rounds: 2 } };
}

/**
 * Structured output first; some OpenAI-compatible servers reject a JSON schema outright (HTTP 400),
 * so then the same request goes again without it, the prompt itself asking for the JSON.
 */
async function callStructured(judge: Provider, request: GenerateRequest, opts: JudgeOptions, details: Record<string, unknown>) {
  try {
    return await callWithRetry(judge, request, opts);
  } catch (error) {
    if (!(error instanceof ProviderError) || error.kind !== 'bad_request' || !request.jsonSchema) throw error;
    delete request.jsonSchema;
    details.judge_structured_output = false;
    return callWithRetry(judge, request, opts);
  }
}

function callWithRetry(judge: Provider, request: GenerateRequest, opts: JudgeOptions) {
  return withRetry(() => judge.generate(request, { signal: opts.signal }), opts.retry ?? DEFAULT_RETRY, { signal: opts.signal });
}
