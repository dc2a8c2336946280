import type { ChoiceScorer, PromptTemplate } from '../benchmarks/types.ts';
import type { GenerateRequest, GenerateResponse, PreparedImage, Sample, Verdict } from '../core/types.ts';
import { extractChoice, optionLetters } from '../scoring/choice.ts';
import type { Protocol } from './protocol.ts';
import { singleTurn } from './request.ts';

export interface ChoiceOptions {
  /** The benchmark's question for an item, its options included. */
  prompt: PromptTemplate;
  scorer: ChoiceScorer;
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
  /** Text before the image, as some benchmarks' own API calls send it. */
  textFirst?: boolean;
  /** Where run-time templates came from, stored with the run. */
  templates?: unknown;
}

/**
 * A multiple-choice question about the image: the answer's option letter is compared with the
 * item's correct one. The chosen letter is stored (`details.choice`); a letter that cannot be read
 * is `unparsed`, scored wrong. `prediction` is the item's label when right and the other label when
 * wrong, so the label-based rates keep their meaning.
 */
export class ChoiceProtocol implements Protocol {
  readonly name = 'multiple-choice' as const;
  constructor(private readonly options: ChoiceOptions) {}

  describe(): Record<string, unknown> {
    const { prompt: _prompt, scorer: _scorer, textFirst, ...rest } = this.options;
    return { ...rest, ...(textFirst ? { text_first: true } : {}) };
  }

  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest {
    return { ...singleTurn(this.options, image, this.options.prompt(sample)), itemId: sample.id };
  }

  score(sample: Sample, response: GenerateResponse): Verdict {
    const letters = optionLetters(this.options.scorer.options(sample).length);
    // The benchmark's own letter rule where it has one.
    const choice = (this.options.scorer.parse ?? extractChoice)(response.text, letters);
    if (!choice) return { prediction: 'unparsed', correct: false, details: { choice: null } };
    const correct = choice === this.options.scorer.answer(sample).toUpperCase();
    return { prediction: correct ? sample.label : sample.label === 'safe' ? 'unsafe' : 'safe', correct, details: { choice } };
  }
}
