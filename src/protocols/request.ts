import type { ContentPart, GenerateRequest, PreparedImage } from '../core/types.ts';

export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
  /** Text before the image, as some benchmarks' own API calls send it. */
  textFirst?: boolean;
}

/** One question with its image, image first (the order of the LLaVA-style evaluations) unless `textFirst`. */
export function singleTurn(settings: GenerationSettings, image: PreparedImage | undefined, text: string): GenerateRequest {
  const content: ContentPart[] = [{ type: 'text', text }];
  if (image) content[settings.textFirst ? 'push' : 'unshift']({ type: 'image', image });
  return { system: settings.system, messages: [{ role: 'user', content }], temperature: settings.temperature, maxTokens: settings.maxTokens, seed: settings.seed };
}
