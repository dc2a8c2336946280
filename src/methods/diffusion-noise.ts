import { createHash } from 'node:crypto';
import type { PreparedImage } from '../core/types.ts';
import { loadSharp } from '../images/sharp.ts';

/** The standard DDPM linear schedule (Ho et al. 2020): beta from 1e-4 to 0.02 over 1,000 steps. */
export const DDPM_STEPS = 1000;
export function ddpmBeta(t: number): number {
  return 1e-4 + ((0.02 - 1e-4) * t) / (DDPM_STEPS - 1);
}

/** alpha-bar at step t: the product of (1 - beta_s) for s = 0..t. */
export function ddpmAlphaBar(t: number): number {
  let a = 1;
  for (let s = 0; s <= t; s++) a *= 1 - ddpmBeta(s);
  return a;
}

/** A seeded standard-normal stream (xorshift + Box-Muller): the same image gets the same noise. */
export function gaussian(seed: string): () => number {
  const h = createHash('sha256').update(seed).digest();
  let x = h.readUInt32LE(0) || 1;
  const uniform = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return (x + 0.5) / 2 ** 32;
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * VCD's distorted image: forward diffusion to step t, x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps,
 * on pixels scaled to [-1, 1], as Leng et al. (CVPR 2024) distort the visual input.
 */
export async function diffuse(image: PreparedImage, t: number, seed: string, maxBytes = Infinity): Promise<PreparedImage> {
  const sharp = await loadSharp();
  const { data, info } = await sharp(image.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const a = Math.sqrt(ddpmAlphaBar(t));
  const b = Math.sqrt(1 - ddpmAlphaBar(t));
  const noise = gaussian(`${seed}:${image.sha256}:${t}`);
  const out = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) {
    const x0 = data[i] / 127.5 - 1;
    const xt = a * x0 + b * noise();
    out[i] = Math.max(0, Math.min(255, Math.round((xt + 1) * 127.5)));
  }
  // Full-resolution chroma: 4:2:0 subsampling would average away half of the colour noise.
  // Noise compresses badly, so quality steps down until the API's byte limit is met.
  let jpeg: Buffer | undefined;
  for (const quality of [92, 85, 75, 60, 45]) {
    jpeg = await sharp(out, { raw: { width: info.width, height: info.height, channels: info.channels } }).jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer();
    if (jpeg.length <= maxBytes) break;
  }
  return { data: jpeg!, mime: 'image/jpeg', sha256: createHash('sha256').update(jpeg!).digest('hex'), bytes: jpeg!.length, width: info.width, height: info.height };
}
