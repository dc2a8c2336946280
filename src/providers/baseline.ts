import { BASELINES, baselineVerdict, type BaselineName } from '../core/baseline.ts';
import type { GenerateRequest, GenerateResponse, ImageLimits, Provider } from '../core/types.ts';
import { DEFAULT_IMAGE_LIMITS } from '../images/limits.ts';

export { BASELINES, type BaselineName } from '../core/baseline.ts';

const requestText = (r: GenerateRequest) =>
  r.messages.flatMap((m) => m.content.map((p) => (p.type === 'text' ? p.text : ''))).join('\n');

/**
 * Reference rows every leaderboard needs: what a model scores without any awareness at all.
 * Always answering "unsafe" already scores the paper's Total of 66.7.
 */
export class BaselineProvider implements Provider {
  readonly id: string;
  readonly supportsLogprobs = false;
  readonly needsImages = false;
  readonly imageLimits: ImageLimits = DEFAULT_IMAGE_LIMITS;

  constructor(
    private readonly name: BaselineName,
    private readonly seed = 0,
  ) {
    if (!BASELINES.includes(name)) throw new Error(`unknown baseline "${name}"; known: ${BASELINES.join(', ')}`);
    this.id = `baseline:${name}`;
  }

  describe(): Record<string, unknown> {
    return this.name === 'random' ? { baseline: this.name, seed: this.seed } : { baseline: this.name };
  }

  async generate(request: GenerateRequest): Promise<GenerateResponse> {
    // Keyed by the item (the question itself for a request that names none).
    const verdict = baselineVerdict(this.name, request.itemId ?? requestText(request), this.seed);
    return { text: verdict === 'safe' ? 'Yes' : 'No', finishReason: 'stop' };
  }
}
