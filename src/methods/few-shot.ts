import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Message, Sample } from '../core/types.ts';
import type { ImageCache } from '../images/cache.ts';
import type { PromptTemplate } from '../benchmarks/types.ts';
import type { RequestTransform } from './transform.ts';

const rank = (seed: number, sampleId: string, candidateId: string) => createHash('sha256').update(`${seed}\n${sampleId}\n${candidateId}`).digest().readUInt32BE(0);

const norm = (t: string) => t.trim().replace(/\s+/g, ' ').toLowerCase();
const imageName = (s: Sample) => (s.image?.path ? path.basename(s.image.path) : s.image?.url);

/**
 * The sample itself, also when a --shots file copied it under another id: the same sentence with
 * the same image (by path or file name) would hand the model its own answer.
 */
export function isSameItem(a: Sample, b: Sample): boolean {
  if (a.id === b.id) return true;
  return norm(a.text) === norm(b.text) && imageName(a) === imageName(b);
}

/** K examples for one sample, chosen by a seeded hash: reproducible, different per sample, never the sample itself. */
export function pickShots(pool: Sample[], sample: Sample, k: number, seed: number): Sample[] {
  return pool
    .filter((s) => !isSameItem(s, sample))
    .map((s) => ({ s, r: rank(seed, sample.id, s.id) }))
    .sort((a, b) => a.r - b.r)
    .slice(0, k)
    .map((x) => x.s);
}

/**
 * Few-shot prompting for the awareness protocol: K worked examples (image, question, the correct
 * Yes or No) as earlier turns of the conversation. The ids used are stored with each answer.
 */
export function fewShot(pool: Sample[], k: number, seed: number, images: ImageCache, withImages: boolean, prompt: PromptTemplate): RequestTransform {
  return async (request, sample) => {
    const shots = pickShots(pool, sample, k, seed);
    const turns: Message[] = [];
    for (const shot of shots) {
      const image = withImages && shot.image?.path ? await images.get(shot.image.path) : undefined;
      turns.push(
        { role: 'user', content: [...(image ? [{ type: 'image' as const, image }] : []), { type: 'text', text: prompt(shot) }] },
        { role: 'assistant', content: [{ type: 'text', text: shot.label === 'safe' ? 'Yes' : 'No' }] },
      );
    }
    return { ...request, messages: [...turns, ...request.messages], meta: { ...request.meta, shots: shots.map((s) => s.id) } };
  };
}
