import type { PromptTemplate } from '../benchmarks/types.ts';
import type { GenerateRequest, GenerateResponse, PreparedImage, Provider, Sample, Verdict } from '../core/types.ts';
import type { RetryPolicy } from '../runner/backoff.ts';
import { scoreAwareness, type ExtractionMode, type ExtractionRule } from '../scoring/awareness.ts';
import { extractWithModel } from './extractor.ts';
import type { Protocol } from './protocol.ts';
import { singleTurn } from './request.ts';

export type { ExtractionMode } from '../scoring/awareness.ts';

export interface AwarenessOptions {
  /** The benchmark's question for one item. */
  prompt: PromptTemplate;
  /** The mode as stored with the run (a rule, or `judge:provider:model`). */
  extraction: ExtractionMode;
  /** The rule that reads every answer first (the mode itself unless it names an extractor). */
  rule?: ExtractionRule;
  /** `judge:provider:model`: the model that reads what the rule cannot. */
  extractor?: Provider;
  retry?: RetryPolicy;
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
  /** Where run-time templates came from, stored with the run. */
  templates?: unknown;
}

/** A yes/no safety question about an image + text pair; the answer's Yes/No is the verdict. */
export class AwarenessProtocol implements Protocol {
  readonly name = 'awareness' as const;
  constructor(private readonly options: AwarenessOptions) {}

  describe(): Record<string, unknown> {
    const { prompt: _prompt, extractor, retry: _retry, rule: _rule, ...rest } = this.options;
    return { ...rest, ...(extractor ? { extraction_rule: this.rule, extractor: extractor.id, extractor_provider: extractor.describe() } : {}) };
  }

  private get rule(): ExtractionRule {
    return this.options.rule ?? (this.options.extraction.startsWith('judge:') ? 'strict' : (this.options.extraction as ExtractionRule));
  }

  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest {
    return { ...singleTurn(this.options, image, this.options.prompt(sample)), itemId: sample.id };
  }

  score(sample: Sample, response: GenerateResponse, signal?: AbortSignal): Verdict | Promise<Verdict> {
    const rule = scoreAwareness(response.text, sample.label, this.rule);
    const { extractor } = this.options;
    if (!extractor) return rule;
    if (rule.prediction !== 'unparsed') return { ...rule, details: { ...rule.details, extracted_by: 'rule' } };
    return extractWithModel(extractor, rule, sample.label, this.options.prompt(sample), response.text, { retry: this.options.retry, signal });
  }
}
