import type { ContentPart, GenerateRequest, GenerateResponse, PreparedImage, Provider, Sample, Verdict } from '../core/types.ts';
import type { RetryPolicy } from '../runner/backoff.ts';
import { judgeAnswer } from '../scoring/judge.ts';
import type { Protocol } from './protocol.ts';

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
    const content: ContentPart[] = [];
    if (image) content.push({ type: 'image', image });
    content.push({ type: 'text', text: sample.prompt ?? sample.text });
    return {
      system: this.options.system,
      messages: [{ role: 'user', content }],
      temperature: this.options.temperature,
      maxTokens: this.options.maxTokens,
      seed: this.options.seed,
    };
  }

  score(sample: Sample, response: GenerateResponse, signal?: AbortSignal): Promise<Verdict> {
    return judgeAnswer(this.options.judge, sample, response.text, { retry: this.options.retry, signal });
  }
}
