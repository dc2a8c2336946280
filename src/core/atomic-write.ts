import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

/** The file's final path and a temporary name beside it (same directory, so the rename is atomic). */
function besideTarget(file: string): { target: string; tmp: string } {
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  return { target, tmp: path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.tmp`) };
}

/**
 * Every `--out` file: written to a temporary file beside it and renamed over it, so a kill or a
 * full disk mid-write leaves the previous complete file (or none), never a truncated one.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const { target, tmp } = besideTarget(file);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, target);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

/**
 * writeFileAtomic for output made in pieces (exports of a large run): each piece is written as it
 * comes, so no more than one is held; the file appears, renamed whole, only when the last piece is
 * written, and a failure of the writer or of the pieces' source removes the temporary file.
 */
export async function writeFileAtomicFrom(file: string, pieces: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>): Promise<void> {
  const { target, tmp } = besideTarget(file);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'w');
    for await (const piece of pieces) {
      const bytes = typeof piece === 'string' ? Buffer.from(piece) : piece;
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
    }
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, target);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw error;
  }
}
