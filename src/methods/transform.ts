import type { GenerateRequest, Sample } from '../core/types.ts';

/**
 * A method or an ablation is a change to the request a protocol built: add a system prompt, put
 * examples first, swap the image. Transforms run in order after the protocol, before the provider.
 */
export type RequestTransform = (request: GenerateRequest, sample: Sample, signal?: AbortSignal) => Promise<GenerateRequest> | GenerateRequest;

/** The text of the request's last user message (the question). */
export function questionOf(request: GenerateRequest): string {
  const last = request.messages.at(-1);
  return last?.content.filter((p) => p.type === 'text').map((p) => (p.type === 'text' ? p.text : '')).join('\n') ?? '';
}

export function withSystem(request: GenerateRequest, text: string): GenerateRequest {
  return { ...request, system: request.system ? `${text}\n\n${request.system}` : text };
}

/** Replaces the text parts of the last user message. */
export function withQuestion(request: GenerateRequest, text: string): GenerateRequest {
  const messages = [...request.messages];
  const last = messages.at(-1)!;
  const images = last.content.filter((p) => p.type === 'image');
  messages[messages.length - 1] = { ...last, content: [...images, { type: 'text', text }] };
  return { ...request, messages };
}
