import type { JudgeRubric } from '../benchmarks/types.ts';
import { ProviderError, type ContentPart, type GenerateRequest, type PreparedImage, type Provider, type Sample, type Verdict } from '../core/types.ts';
import { DEFAULT_RETRY, isRetryable, retryDelayMs, sleep, type RetryPolicy } from '../runner/backoff.ts';
import { parseJudgeOutput } from '../scoring/judge.ts';
import { classifyRefusal } from '../scoring/refusal.ts';

export interface JudgeOptions {
  retry?: RetryPolicy;
  signal?: AbortSignal;
  maxTokens?: number;
  /** The item's image as the judge may see it (only sent when the rubric's template says so). */
  image?: PreparedImage;
}

/** A judge failure that no later item can escape (rejected key, unknown judge model). */
const FATAL_JUDGE_KINDS = new Set(['auth', 'not_found']);

/**
 * Asks the judge about one answer with the benchmark's rubric. API failures are retried like model calls; an unusable verdict
 * is re-asked once; after that the result is a judge error, kept apart from verdicts. A rejected
 * key or unknown judge model is thrown instead: every further answer would be wasted.
 */
export async function judgeAnswer(judge: Provider, rubric: JudgeRubric, sample: Sample, answer: string, opts: JudgeOptions = {}): Promise<Verdict> {
  const refusalClass = classifyRefusal(answer);
  const template = rubric.templateFor(sample);
  const content: ContentPart[] = [];
  if (template.seesImage && opts.image) content.push({ type: 'image', image: opts.image });
  content.push({ type: 'text', text: template.prompt(sample, answer) });
  const request: GenerateRequest = {
    system: rubric.system,
    messages: [{ role: 'user', content }],
    temperature: 0,
    maxTokens: opts.maxTokens ?? 400,
    jsonSchema: { name: rubric.schema.name, schema: rubric.schema.schema },
  };
  const base: Record<string, unknown> = { refusal: refusalClass === 'refusal', refusal_class: refusalClass, judge: judge.id };
  const usage = { input: 0, output: 0 };
  base.judge_usage = usage;
  let lastRaw = '';
  try {
    for (let round = 0; round < 2; round++) {
      const response = await callStructured(judge, request, opts, base);
      usage.input += response.usage?.inputTokens ?? 0;
      usage.output += response.usage?.outputTokens ?? 0;
      lastRaw = response.text;
      const out = parseJudgeOutput(response.text, [...template.pass, ...template.fail]);
      if (out) {
        const good = template.pass.includes(out.verdict);
        return { prediction: good ? 'safe' : 'unsafe', correct: good, rationale: out.rationale, details: { ...base, judge_verdict: out.verdict, judge_rounds: round + 1 } };
      }
      request.messages = [
        ...request.messages,
        { role: 'assistant', content: [{ type: 'text', text: response.text }] },
        { role: 'user', content: [{ type: 'text', text: 'That reply was not the JSON object requested. Reply again with only the JSON object.' }] },
      ];
    }
    return { prediction: 'judge_error', correct: false, details: { ...base, judge_error: 'unparseable verdict', judge_raw: lastRaw.slice(0, 2000), judge_rounds: 2 } };
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    if (error instanceof ProviderError && FATAL_JUDGE_KINDS.has(error.kind)) {
      throw new ProviderError(error.kind, `judge ${judge.id}: ${error.message}`, { status: error.status, cause: error });
    }
    const kind = error instanceof ProviderError ? error.kind : 'internal';
    return { prediction: 'judge_error', correct: false, details: { ...base, judge_error: `${kind}: ${(error as Error).message}` } };
  }
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

async function callWithRetry(judge: Provider, request: GenerateRequest, opts: JudgeOptions) {
  const retry = opts.retry ?? DEFAULT_RETRY;
  for (let attempt = 1; ; attempt++) {
    try {
      return await judge.generate(request, { signal: opts.signal });
    } catch (error) {
      if (!isRetryable(error) || attempt >= retry.maxAttempts || opts.signal?.aborted) throw error;
      await sleep(retryDelayMs(error, attempt, retry), opts.signal);
    }
  }
}
