import type { JudgeRubric, PromptTemplate } from '../benchmarks/types.ts';
import type { GenerateRequest, GenerateResponse, PreparedImage, Provider, Sample, Verdict } from '../core/types.ts';
import type { RetryPolicy } from '../runner/backoff.ts';
import type { TemplateSource } from '../upstream/template.ts';
import { judgeAnswer } from './judge.ts';
import type { Protocol } from './protocol.ts';
import { singleTurn } from './request.ts';

export interface ResponseOptions {
  judge: Provider;
  /** How the judge is asked: the benchmark's rubric. */
  rubric: JudgeRubric;
  /** What the model is asked for one item. */
  prompt: PromptTemplate;
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
  textFirst?: boolean;
  retry?: RetryPolicy;
  /** Where the benchmark's templates came from (upstream file, --judge-prompts, fallback), recorded with the run. */
  templates?: TemplateSource[];
}

/**
 * A judged free answer: the model answers the item freely, then a judge model applies the
 * benchmark's rubric to the answer (and, if the rubric says so, the image).
 */
export class ResponseProtocol implements Protocol {
  readonly name = 'response' as const;
  constructor(private readonly options: ResponseOptions) {}

  describe(): Record<string, unknown> {
    const { judge, retry: _retry, rubric: _rubric, prompt: _prompt, textFirst, templates, ...rest } = this.options;
    return { ...rest, judge: judge.id, judge_provider: judge.describe(), rubric: this.options.rubric.id, ...(textFirst ? { text_first: true } : {}), ...(templates ? { templates } : {}) };
  }

  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest {
    return { ...singleTurn(this.options, image, this.options.prompt(sample)), itemId: sample.id };
  }

  score(sample: Sample, response: GenerateResponse, signal?: AbortSignal, image?: PreparedImage): Promise<Verdict> {
    return judgeAnswer(this.options.judge, this.options.rubric, sample, response.text, { retry: this.options.retry, signal, image });
  }
}
