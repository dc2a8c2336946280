import type { ProtocolName } from '../benchmarks/types.ts';
import type { GenerateRequest, GenerateResponse, PreparedImage, Sample, Verdict } from '../core/types.ts';

/**
 * How a model is asked and how its answer is judged. A protocol is the only place that knows the
 * question's wording; providers only move bytes, scorers only read text.
 */
export interface Protocol {
  readonly name: ProtocolName;
  /** Settings worth storing with the run (extraction mode, max tokens, judge...). */
  describe(): Record<string, unknown>;
  buildRequest(sample: Sample, image: PreparedImage | undefined): GenerateRequest;
  /** `image`: the prepared image, for judges that look at it. */
  score(sample: Sample, response: GenerateResponse, signal?: AbortSignal, image?: PreparedImage): Promise<Verdict> | Verdict;
}
