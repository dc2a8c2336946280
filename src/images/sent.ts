import type { GenerateRequest } from '../core/types.ts';

export interface SentImage {
  sha256: string;
  bytes: number;
  mime: string;
}

/**
 * The sample's own image as it finally goes out: the last image of the last user turn, after
 * methods and ablations have had their say (a blank or noise ablation replaces the prepared image,
 * few-shot adds example images in earlier turns). What the store should record as "sent".
 */
export function sentImage(request: GenerateRequest): SentImage | undefined {
  const lastUser = [...request.messages].reverse().find((m) => m.role === 'user');
  const part = [...(lastUser?.content ?? [])].reverse().find((p) => p.type === 'image');
  if (!part || part.type !== 'image') return undefined;
  return { sha256: part.image.sha256, bytes: part.image.bytes, mime: part.image.mime };
}
