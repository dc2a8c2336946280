import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ResultRow } from '../core/types.ts';
import { compareIds } from './order.ts';

/** How much of a run is sorted in memory at once: parts beyond one go to temporary files and are merged. */
export interface SortLimits {
  rows: number;
  /** Characters of free text (answers, questions, system prompts, error messages) in one part. */
  chars: number;
  /** Where the parts go (default: the system's temporary directory). */
  dir?: string;
}

export const SORT_LIMITS: SortLimits = { rows: 10_000, chars: 8 * 1024 * 1024 };

interface Entry {
  id: string;
  repeat: number;
  value: string;
}

const byId = (a: Entry, b: Entry) => compareIds(a.id, b.id) || a.repeat - b.repeat;

/**
 * What `inIdOrder` gives (ids as people read them, `2` before `10`; an item's repeats in order),
 * for a run of any size with memory bounded by `limits`: the store streams rows in key order
 * (`10` before `2`), so each part of at most `limits` is sorted and, when there is more than one,
 * written to a temporary file (as UTF-16 code units, so every string round-trips exactly); the
 * parts are then merged. `textOf` maps a row to its output text (undefined: left out).
 */
export async function* inIdOrderStream(rows: AsyncIterable<ResultRow>, textOf: (r: ResultRow) => string | undefined, limits: SortLimits = SORT_LIMITS): AsyncGenerator<string> {
  let part: Entry[] = [];
  let chars = 0;
  let dir: string | undefined;
  const files: string[] = [];
  try {
    for await (const r of rows) {
      const value = textOf(r);
      if (value === undefined) continue;
      part.push({ id: r.sampleId, repeat: r.repeat ?? 0, value });
      chars += value.length;
      if (part.length >= limits.rows || chars >= limits.chars) {
        dir ??= mkdtempSync(path.join(limits.dir ?? tmpdir(), 'mmsafe-sort-'));
        files.push(spill(part.sort(byId), path.join(dir, `${files.length}.part`)));
        (part = []), (chars = 0);
      }
    }
    if (!files.length) {
      yield* part.sort(byId).map((e) => e.value);
      return;
    }
    if (part.length) files.push(spill(part.sort(byId), path.join(dir!, `${files.length}.part`)));
    part = [];
    yield* merge(files);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Frames of one entry: byte lengths of id and text, the repeat, then id and text as UTF-16 code units. */
const HEAD = 12;

/** One sorted part as frames, written through one buffer of 1 MiB (larger only for a larger entry). */
function spill(part: Entry[], file: string): string {
  const fd = openSync(file, 'w');
  try {
    let buf = Buffer.alloc(1 << 20);
    let used = 0;
    const flush = () => {
      for (let off = 0; off < used; ) off += writeSync(fd, buf, off, used - off);
      used = 0;
    };
    for (const e of part) {
      const size = HEAD + 2 * (e.id.length + e.value.length);
      if (used + size > buf.length) flush();
      if (size > buf.length) buf = Buffer.alloc(size);
      buf.writeUInt32LE(2 * e.id.length, used);
      buf.writeUInt32LE(e.repeat, used + 4);
      buf.writeUInt32LE(2 * e.value.length, used + 8);
      used += HEAD;
      used += buf.write(e.id, used, 'utf16le');
      used += buf.write(e.value, used, 'utf16le');
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Merges sorted parts: the head of each part kept in order, the smallest taken, its part's next put in place. */
function* merge(files: string[]): Generator<string> {
  const readers = files.map((f) => new PartReader(f));
  try {
    const heads: { e: Entry; from: PartReader }[] = [];
    const put = (from: PartReader) => {
      const e = from.next();
      if (!e) return;
      let lo = 0;
      for (let hi = heads.length; lo < hi; ) {
        const mid = (lo + hi) >> 1;
        if (byId(heads[mid].e, e) <= 0) lo = mid + 1;
        else hi = mid;
      }
      heads.splice(lo, 0, { e, from });
    };
    readers.forEach(put);
    while (heads.length) {
      const { e, from } = heads.shift()!;
      yield e.value;
      put(from);
    }
  } finally {
    for (const r of readers) r.close();
  }
}

/** Reads one part's frames through a small buffer (a 64 KiB block, larger only for a larger frame). */
class PartReader {
  private fd: number;
  private buf = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
  }

  next(): Entry | undefined {
    if (!this.fill(HEAD)) return undefined;
    const [idBytes, repeat, textBytes] = [0, 4, 8].map((at) => this.buf.readUInt32LE(this.start + at));
    if (!this.fill(HEAD + idBytes + textBytes)) throw new Error('a temporary sort file ended early');
    const at = this.start + HEAD;
    const e = { id: this.buf.toString('utf16le', at, at + idBytes), repeat, value: this.buf.toString('utf16le', at + idBytes, at + idBytes + textBytes) };
    this.start = at + idBytes + textBytes;
    return e;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** At least `n` bytes buffered from `start`; false at the end of the file. */
  private fill(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.buf.length < n) {
      const grown = Buffer.alloc(n);
      this.buf.copy(grown, 0, this.start, this.end);
      this.buf = grown;
    } else this.buf.copyWithin(0, this.start, this.end);
    (this.end -= this.start), (this.start = 0);
    while (this.end < n) {
      const got = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
      if (!got) return false;
      this.end += got;
    }
    return true;
  }
}
