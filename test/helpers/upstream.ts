import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** A small real PNG (distinct per `shade`), so image checks and providers accept it. */
export async function tinyPng(shade = 200): Promise<Buffer> {
  return sharp({ create: { width: 16, height: 16, channels: 3, background: { r: shade, g: 120, b: 40 } } }).png().toBuffer();
}

/** Writes files under `root`: path -> text or bytes. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
}
