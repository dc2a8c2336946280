import { describe, expect, it } from 'vitest';
import type { GenerateRequest, PreparedImage } from '../src/core/types.ts';
import { loadSharp } from '../src/images/sharp.ts';
import { noiseImage } from '../src/methods/ablations.ts';
import { setupAblation } from '../src/methods/registry.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

/** A request whose image is a large photo-sized picture (only its size matters to the ablation). */
async function requestWith(width: number, height: number): Promise<GenerateRequest> {
  const data = await (await loadSharp())({ create: { width, height, channels: 3, background: { r: 10, g: 20, b: 30 } } }).jpeg().toBuffer();
  const image: PreparedImage = { data, mime: 'image/jpeg', sha256: 'x', bytes: data.length, width, height };
  return { messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'Is this safe?' }] }] };
}

const sentImage = (r: GenerateRequest) => {
  const part = r.messages[0].content.find((p) => p.type === 'image');
  if (part?.type !== 'image') throw new Error('no image sent');
  return part.image;
};
const sample = { id: 's1', text: 't', label: 'unsafe' as const };

describe('noise-image ablation within the provider byte limit', () => {
  it('a 1568 px noise image fits an API limit of 5 MB (as PNG it is ~7 MB), keeping its size where JPEG is taken', async () => {
    const limits = { maxBytes: 5 * 1024 * 1024, accepts: ['image/jpeg', 'image/png'] as PreparedImage['mime'][] };
    const out = sentImage(await noiseImage(limits)(await requestWith(1568, 1568), sample));
    expect(out.bytes).toBeLessThanOrEqual(limits.maxBytes);
    expect(out.data.length).toBe(out.bytes);
    expect([out.width, out.height]).toEqual([1568, 1568]);
    expect(out.mime).toBe('image/jpeg');
    const meta = await (await loadSharp())(out.data).metadata();
    expect([meta.width, meta.height]).toEqual([1568, 1568]);
  });

  it('an API that takes only PNG gets smaller noise that fits; a small image stays PNG of the same size', async () => {
    const limits = { maxBytes: 2 * 1024 * 1024, accepts: ['image/png'] as PreparedImage['mime'][] };
    const big = sentImage(await noiseImage(limits)(await requestWith(1568, 1568), sample));
    expect(big.mime).toBe('image/png');
    expect(big.bytes).toBeLessThanOrEqual(limits.maxBytes);
    expect(big.width! * big.height!).toBeLessThan(1568 * 1568);
    const small = sentImage(await noiseImage(limits)(await requestWith(64, 48), sample));
    expect([small.mime, small.width, small.height]).toEqual(['image/png', 64, 48]);
  });

  it('the run passes the provider limits to the ablation', async () => {
    const store = new SqliteStore(':memory:');
    const transform = setupAblation('noise-image', { protocol: 'awareness', store, limits: { maxBytes: 3 * 1024 * 1024, accepts: ['image/jpeg'] } })!;
    const out = sentImage(await transform(await requestWith(1568, 1568), sample));
    expect(out.bytes).toBeLessThanOrEqual(3 * 1024 * 1024);
    await store.close();
  });
});
