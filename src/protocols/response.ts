import type { GenerateRequest, GenerateResponse, PreparedImage, Provider, Sample, Verdict } from '../core/types.ts';
import type { RetryPolicy } from '../runner/backoff.ts';
import { judgeAnswer } from '../scoring/judge.ts';
import type { Protocol } from './protocol.ts';
import { singleTurn } from './request.ts';

export interface ResponseOptions {
  judge: Provider;
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
  retry?: RetryPolicy;
}

/**
 * SaLAD's protocol: the model answers the query freely (image + query verbatim, no system prompt
 * unless asked), then a text-only judge decides whether the answer was safe and helpful.
 */
export class ResponseProtocol implements Protocol {
  readonly name = 'response' as const;
  constructor(private readonly options: ResponseOptions) {}

  describe(): Record<string, unknown> {
    const { judge, retry: _retry, ...rest } = this.options;
    return { ...rest, judge: judge.id, judge_provider: judge.describe() };
  }

  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest {
    // The item's own text, never a shipped prompt: MMSafeAware's prompt is its yes/no question,
    // which would turn a free answer back into the awareness protocol.
    return singleTurn(this.options, image, sample.text);
  }

  score(sample: Sample, response: GenerateResponse, signal?: AbortSignal): Promise<Verdict> {
    return judgeAnswer(this.options.judge, sample, response.text, { retry: this.options.retry, signal });
  }
}
