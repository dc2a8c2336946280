import type { PromptTemplate } from '../benchmarks/types.ts';
import type { GenerateRequest, GenerateResponse, PreparedImage, Sample, Verdict } from '../core/types.ts';
import { scoreAwareness, type ExtractionMode } from '../scoring/awareness.ts';
import type { Protocol } from './protocol.ts';
import { singleTurn } from './request.ts';

export type { ExtractionMode } from '../scoring/awareness.ts';

export interface AwarenessOptions {
  /** The benchmark's question for one item. */
  prompt: PromptTemplate;
  extraction: ExtractionMode;
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
    const { prompt: _prompt, ...rest } = this.options;
    return { ...rest };
  }

  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest {
    return { ...singleTurn(this.options, image, this.options.prompt(sample)), itemId: sample.id };
  }

  score(sample: Sample, response: GenerateResponse): Verdict {
    return scoreAwareness(response.text, sample.label, this.options.extraction);
  }
}
