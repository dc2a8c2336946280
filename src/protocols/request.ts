import type { ContentPart, GenerateRequest, PreparedImage } from '../core/types.ts';

export interface GenerationSettings {
  maxTokens: number;
  temperature: number;
  seed?: number;
  system?: string;
}

/** One question with its image, image first (the order of the LLaVA-style evaluations). */
export function singleTurn(settings: GenerationSettings, image: PreparedImage | undefined, text: string): GenerateRequest {
  const content: ContentPart[] = [];
  if (image) content.push({ type: 'image', image });
  content.push({ type: 'text', text });
  return { system: settings.system, messages: [{ role: 'user', content }], temperature: settings.temperature, maxTokens: settings.maxTokens, seed: settings.seed };
}
