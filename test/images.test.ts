import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ProviderError, type ImageLimits } from '../src/core/types.ts';
import { IMAGE_CACHE_CEILING, IMAGE_CACHE_FLOOR, ImageCache, imageCacheBudget } from '../src/images/cache.ts';
import { DEFAULT_IMAGE_LIMITS } from '../src/images/limits.ts';
import { prepareImage } from '../src/images/prepare.ts';
import { sniffImageType } from '../src/images/sniff.ts';
import { sentImage } from '../src/images/sent.ts';

const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#3a7' } });
/** Incompressible pixels, so byte limits are really exercised. */
const noisy = (w: number, h: number) => sharp(Buffer.from(Array.from({ length: w * h * 3 }, () => Math.floor(Math.random() * 256))), { raw: { width: w, height: h, channels: 3 } });

/**
 * A valid black PNG at 1 bit per pixel: over 100 megapixels in about 12 KB, built in milliseconds,
 * where an RGB image that large would take seconds and hundreds of MB to encode.
 */
function blackPng1Bit(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const out = Buffer.alloc(8 + data.length + 4);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([1, 0, 0, 0, 0], 8); // 1-bit grayscale
  // Each row: filter byte 0, then the packed pixels, all zero.
  const raw = Buffer.alloc(height * (1 + Math.ceil(width / 8)));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

describe('image type sniffing', () => {
  it('reads the type from the bytes', async () => {
    expect(sniffImageType(await solid(8, 8).jpeg().toBuffer())).toBe('image/jpeg');
    expect(sniffImageType(await solid(8, 8).png().toBuffer())).toBe('image/png');
    expect(sniffImageType(await solid(8, 8).webp().toBuffer())).toBe('image/webp');
    expect(sniffImageType(await solid(8, 8).gif().toBuffer())).toBe('image/gif');
    expect(sniffImageType(await solid(8, 8).tiff().toBuffer())).toBe('image/tiff');
    expect(sniffImageType(Buffer.from('hello world, not an image'))).toBeUndefined();
  });
});

describe('prepareImage', () => {
  it('passes a fitting image through untouched, hashing the bytes sent', async () => {
    const png = await solid(64, 48).png().toBuffer();
    const img = await prepareImage(png, DEFAULT_IMAGE_LIMITS);
    expect(img.data.equals(png)).toBe(true);
    expect(img).toMatchObject({ mime: 'image/png', width: 64, height: 48, bytes: png.length });
    expect(img.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(['jpeg', 'png', 'webp', 'gif'] as const)('sends a fitting %s as it is, its size read from the header as sharp reads it', async (format) => {
    const bytes = await solid(123, 45).toFormat(format).toBuffer();
    const img = await prepareImage(bytes, DEFAULT_IMAGE_LIMITS);
    const meta = await sharp(bytes).metadata();
    expect(img.data.equals(bytes)).toBe(true);
    expect([img.width, img.height]).toEqual([meta.width, meta.height]);
    expect([img.width, img.height]).toEqual([123, 45]);
  });

  it('downscales a 6000x4000 PNG to the max side', async () => {
    const img = await prepareImage(await solid(6000, 4000).png().toBuffer(), { ...DEFAULT_IMAGE_LIMITS, maxSide: 1568 });
    expect(Math.max(img.width!, img.height!)).toBe(1568);
    const meta = await sharp(img.data).metadata();
    expect([meta.width, meta.height]).toEqual([1568, 1045]);
  });

  it('a 50-megapixel image is decoded and downscaled, not refused', async () => {
    const huge = await solid(8000, 6250).png({ compressionLevel: 1 }).toBuffer();
    const img = await prepareImage(huge, DEFAULT_IMAGE_LIMITS);
    expect([img.width, img.height]).toEqual([2048, 1600]);
  });

  it('converts webp when the provider does not take it, and keeps it when it does', async () => {
    const webp = await solid(32, 32).webp().toBuffer();
    expect((await prepareImage(webp, DEFAULT_IMAGE_LIMITS)).mime).toBe('image/webp');
    const converted = await prepareImage(webp, { ...DEFAULT_IMAGE_LIMITS, accepts: ['image/jpeg', 'image/png'] });
    expect(converted.mime).toBe('image/jpeg');
    expect(sniffImageType(converted.data)).toBe('image/jpeg');
  });

  it.each(['jpeg', 'png', 'webp'] as const)('applies EXIF orientation (%s)', async (format) => {
    const rotated = await solid(40, 20).toFormat(format).withMetadata({ orientation: 6 }).toBuffer();
    const img = await prepareImage(rotated, DEFAULT_IMAGE_LIMITS);
    expect([img.width, img.height]).toEqual([20, 40]);
    expect((await sharp(img.data).metadata()).orientation ?? 1).toBe(1);
  });

  it('enforces the byte limit', async () => {
    const big = await noisy(1200, 1200).png().toBuffer();
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, maxBytes: 200_000 };
    const img = await prepareImage(big, limits);
    expect(img.bytes).toBeLessThanOrEqual(200_000);
  });

  it.each([
    ['a zero-byte file', async () => Buffer.alloc(0), /empty/],
    ['a 1-bit PNG of 10,001 x 10,001 pixels (above the 100 MP decode limit)', async () => blackPng1Bit(10_001, 10_001), /pixel limit/],
    ['random bytes', async () => Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)), /not a recognised image/],
    ['a truncated JPEG', async () => (await noisy(300, 300).jpeg().toBuffer()).subarray(0, 4000), /truncated|corrupt|cannot/],
    // Small enough to pass through untouched, so only the end-marker check stands between it and the API.
    ['a truncated PNG that would otherwise fit', async () => { const b = await noisy(64, 64).png().toBuffer(); return b.subarray(0, b.length - 20); }, /truncated/],
    ['a truncated WebP', async () => { const b = await noisy(64, 64).webp().toBuffer(); return b.subarray(0, Math.floor(b.length / 2)); }, /truncated|cannot read/],
    ['a truncated PNG that needs downscaling', async () => { const b = await noisy(3000, 300).png().toBuffer(); return b.subarray(0, Math.floor(b.length * 0.8)); }, /cannot decode|truncated/],
  ])('%s is a per-sample image error', async (_name, make, message) => {
    const err = await prepareImage(await make(), DEFAULT_IMAGE_LIMITS).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe('image');
    expect(err.message).toMatch(message);
  });
});

describe('ImageCache', () => {
  it('prepares a shared image once under concurrent requests, and remembers failures', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-img-'));
    const file = path.join(dir, 'a.jpg');
    writeFileSync(file, await solid(50, 50).png().toBuffer()); // a PNG named .jpg
    const bad = path.join(dir, 'bad.png');
    writeFileSync(bad, Buffer.alloc(0));
    const cache = new ImageCache(DEFAULT_IMAGE_LIMITS);
    const all = await Promise.all(Array.from({ length: 10 }, () => cache.get(file)));
    expect(new Set(all.map((i) => i.sha256)).size).toBe(1);
    expect(all[0].mime).toBe('image/png');
    expect(cache.stats).toEqual({ prepared: 1, hits: 9 });
    await expect(cache.get(bad)).rejects.toThrow(/empty/);
    await expect(cache.get(bad)).rejects.toThrow(/empty/);
    expect(cache.stats.prepared).toBe(2);
    await expect(cache.get(path.join(dir, 'none.jpg'))).rejects.toThrow(/cannot read image/);
  });
});

describe('imageCacheBudget', () => {
  const MB = 1024 * 1024;
  /** Sparse files: their size is what the budget reads, without writing the bytes. */
  function sparseFiles(sizes: number[]): { files: string[]; done: () => void } {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-budget-'));
    const files = sizes.map((size, i) => {
      const file = path.join(dir, `${i}.jpg`);
      writeFileSync(file, '');
      truncateSync(file, size);
      return file;
    });
    return { files, done: () => rmSync(dir, { recursive: true, force: true }) };
  }

  it('holds every distinct image of the set, counted once however many samples name it, between a floor and a ceiling', () => {
    const set = sparseFiles([30 * MB, 30 * MB, 20 * MB]);
    try {
      // 80 MB on disk: above the old fixed 64 MB, so a cyclic run would have missed on every sample.
      const named = [...set.files, ...set.files, ...set.files, path.join(os.tmpdir(), 'no-such-image.jpg')];
      expect(imageCacheBudget(named)).toBe(Math.ceil(80 * MB * 1.05));
      expect(imageCacheBudget(set.files.slice(2))).toBe(IMAGE_CACHE_FLOOR);
      expect(imageCacheBudget([])).toBe(IMAGE_CACHE_FLOOR);
    } finally {
      set.done();
    }
    const huge = sparseFiles([200 * MB, 200 * MB, 200 * MB]);
    try {
      expect(imageCacheBudget(huge.files)).toBe(IMAGE_CACHE_CEILING);
    } finally {
      huge.done();
    }
  });

  it('prepares each image once when a run cycles over more pictures than a fixed budget would hold', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cycle-'));
    try {
      const files = await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          const file = path.join(dir, `${i}.png`);
          writeFileSync(file, await noisy(40 + i, 40).png().toBuffer());
          return file;
        }),
      );
      const cycle = async (cache: ImageCache) => {
        for (let round = 0; round < 3; round++) for (const f of files) await cache.get(f);
        return cache.stats;
      };
      // Sized below the set, least-recently-used eviction misses on every sample of a cyclic order.
      const total = (await Promise.all(files.map((f) => prepareImage(readFileSync(f), DEFAULT_IMAGE_LIMITS)))).reduce((a, img) => a + img.bytes, 0);
      expect(await cycle(new ImageCache(DEFAULT_IMAGE_LIMITS, total - 1))).toEqual({ prepared: 15, hits: 0 });
      expect(await cycle(new ImageCache(DEFAULT_IMAGE_LIMITS, imageCacheBudget(files)))).toEqual({ prepared: 5, hits: 10 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sentImage', () => {
  it('is the sample\'s own image in the final request: the last one of the last user turn, not a few-shot example', async () => {
    const a = await prepareImage(await solid(8, 8).png().toBuffer(), DEFAULT_IMAGE_LIMITS);
    const b = await prepareImage(await solid(9, 9).png().toBuffer(), DEFAULT_IMAGE_LIMITS);
    const request = {
      messages: [
        { role: 'user' as const, content: [{ type: 'image' as const, image: a }, { type: 'text' as const, text: 'example' }] },
        { role: 'assistant' as const, content: [{ type: 'text' as const, text: 'No' }] },
        { role: 'user' as const, content: [{ type: 'image' as const, image: b }, { type: 'text' as const, text: 'sample' }] },
      ],
    };
    expect(sentImage(request)).toEqual({ sha256: b.sha256, bytes: b.bytes, mime: 'image/png' });
    expect(sentImage({ messages: [{ role: 'user', content: [{ type: 'text', text: 'text only' }] }] })).toBeUndefined();
  });
});
