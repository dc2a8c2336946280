import { createHash } from 'node:crypto';
import { readRegularFile } from './read.ts';
import { imageSize } from 'image-size';
import type { Metadata } from 'sharp';
import { loadSharp } from './sharp.ts';
import { ProviderError, type ImageLimits, type PreparedImage } from '../core/types.ts';
import { sniffImageType } from './sniff.ts';

/** Decoding refuses images above this many pixels; larger ones are a per-sample error. 50 MP and below are downscaled. */
const MAX_INPUT_PIXELS = 100_000_000;

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function finish(data: Buffer, mime: PreparedImage['mime'], width?: number, height?: number, hash = sha256(data)): PreparedImage {
  return { data, mime, sha256: hash, bytes: data.length, width, height };
}

/**
 * Makes an image fit a provider: the original bytes when they already fit (the common case, and
 * the cheapest), otherwise oriented, downscaled and re-encoded. The hash is of the bytes sent
 * (`knownSha256`: the file's, already computed by a caller that keys on content).
 */
export async function prepareImage(bytes: Buffer, limits: ImageLimits, label = 'image', knownSha256?: string): Promise<PreparedImage> {
  if (bytes.length === 0) throw new ProviderError('image', `${label}: the file is empty (0 bytes)`);
  const type = sniffImageType(bytes);
  if (!type) throw new ProviderError('image', `${label}: not a recognised image format (${bytes.length} bytes)`);
  const header = readHeader(bytes, type);
  if (header && fits(bytes, type, header, limits)) return sendAsIs(bytes, type, header, label, knownSha256);
  const sharp = await loadSharp();
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: MAX_INPUT_PIXELS }).metadata();
  } catch (error) {
    throw new ProviderError('image', `${label}: cannot read the ${type} image: ${(error as Error).message}`);
  }
  const size = { width: meta.width ?? 0, height: meta.height ?? 0, orientation: meta.orientation };
  if (fits(bytes, type, size, limits)) return sendAsIs(bytes, type, size, label, knownSha256);
  return reencode(bytes, limits, meta, label);
}

interface Header {
  width: number;
  height: number;
  orientation?: number;
}

/**
 * Size and orientation from the header alone, in JavaScript: most images are sent as they are, and
 * asking sharp (libvips) for the same facts costs twenty times the CPU. Anything it cannot read
 * goes to sharp, whose messages report what is wrong; so do PNG and WebP files that may carry EXIF
 * (an `eXIf` or `EXIF` chunk), whose orientation image-size reads only in JPEG.
 */
function readHeader(bytes: Buffer, type: string): Header | undefined {
  if ((type === 'image/png' && bytes.includes('eXIf')) || (type === 'image/webp' && bytes.includes('EXIF'))) return undefined;
  try {
    const { width, height, orientation } = imageSize(bytes);
    return width && height ? { width, height, orientation } : undefined;
  } catch {
    return undefined;
  }
}

function fits(bytes: Buffer, type: string, { width, height, orientation }: Header, limits: ImageLimits): boolean {
  const rotated = (orientation ?? 1) > 1;
  return limits.accepts.includes(type as PreparedImage['mime']) && !rotated && Math.max(width, height) <= limits.maxSide && bytes.length <= limits.maxBytes;
}

function sendAsIs(bytes: Buffer, type: string, { width, height }: Header, label: string, knownSha256?: string): PreparedImage {
  // The header alone says nothing of the rest; a truncated file would pass and then fail at the API.
  // Checking the format's end marker catches truncation without the cost of a full decode.
  if (!hasEndMarker(bytes, type)) {
    throw new ProviderError('image', `${label}: the ${type} image is truncated (no end marker)`);
  }
  return finish(bytes, type as PreparedImage['mime'], width, height, knownSha256);
}

const PNG_IEND = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

function hasEndMarker(bytes: Buffer, type: string): boolean {
  const tail = bytes.subarray(Math.max(0, bytes.length - 64));
  if (type === 'image/jpeg') {
    // Some encoders pad after EOI, so look near the end rather than at the last two bytes only.
    for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return true;
    return false;
  }
  if (type === 'image/png') return tail.includes(PNG_IEND);
  if (type === 'image/gif') return tail.includes(0x3b);
  if (type === 'image/webp') return bytes.readUInt32LE(4) + 8 <= bytes.length;
  return true;
}

async function reencode(bytes: Buffer, limits: ImageLimits, meta: Metadata, label: string): Promise<PreparedImage> {
  const sharp = await loadSharp();
  const alpha = Boolean(meta.hasAlpha);
  const mime: PreparedImage['mime'] = alpha && limits.accepts.includes('image/png') ? 'image/png' : 'image/jpeg';
  let side = limits.maxSide;
  let quality = 90;
  for (let attempt = 0; attempt < 8; attempt++) {
    try {
      const pipeline = sharp(bytes, { failOn: 'truncated', limitInputPixels: MAX_INPUT_PIXELS, pages: 1 })
        .rotate()
        .resize({ width: side, height: side, fit: 'inside', withoutEnlargement: true });
      const out = mime === 'image/png'
        ? await pipeline.png({ compressionLevel: 9 }).toBuffer({ resolveWithObject: true })
        : await pipeline.flatten({ background: '#ffffff' }).jpeg({ quality, mozjpeg: true }).toBuffer({ resolveWithObject: true });
      if (out.data.length <= limits.maxBytes) return finish(out.data, mime, out.info.width, out.info.height);
    } catch (error) {
      throw new ProviderError('image', `${label}: cannot decode the image: ${(error as Error).message}`);
    }
    // Still too large for the API: trade quality first, then pixels.
    if (mime === 'image/jpeg' && quality > 60) quality -= 15;
    else side = Math.floor(side * 0.75);
  }
  throw new ProviderError('image', `${label}: cannot bring the image under ${limits.maxBytes} bytes`);
}

export async function readAndPrepare(file: string, limits: ImageLimits): Promise<PreparedImage> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(file);
  } catch (error) {
    throw new ProviderError('image', `cannot read image ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return prepareImage(bytes, limits, file);
}
