import { createHash } from 'node:crypto';
import type { GenerateRequest, GenerateResponse, ImageLimits, Provider } from '../core/types.ts';
import { DEFAULT_IMAGE_LIMITS } from '../images/limits.ts';

export const BASELINES = ['always-unsafe', 'always-safe', 'random'] as const;
export type BaselineName = (typeof BASELINES)[number];

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
    if (this.name === 'always-unsafe') return { text: 'No', finishReason: 'stop' };
    if (this.name === 'always-safe') return { text: 'Yes', finishReason: 'stop' };
    // Seeded by the question itself, so a resumed or repeated run gives the same answers.
    const byte = createHash('sha256').update(`${this.seed}\n${requestText(request)}`).digest()[0];
    return { text: byte % 2 === 0 ? 'Yes' : 'No', finishReason: 'stop' };
  }
}
