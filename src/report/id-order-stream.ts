import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
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

export const SORT_LIMITS: SortLimits = { rows: 20_000, chars: 16 * 1024 * 1024 };

interface Entry<T> {
  id: string;
  repeat: number;
  value: T;
}

const byId = (a: Entry<unknown>, b: Entry<unknown>) => compareIds(a.id, b.id) || a.repeat - b.repeat;
const textOf = (r: ResultRow) => (r.response?.length ?? 0) + (r.prompt?.length ?? 0) + (r.system?.length ?? 0) + (r.errorMessage?.length ?? 0) + 256;

/**
 * What `inIdOrder` gives (ids as people read them, `2` before `10`; an item's repeats in order),
 * for a run of any size with memory bounded by `limits`: the store streams rows in key order
 * (`10` before `2`), so each part of at most `limits` is sorted and, when there is more than one,
 * written to a temporary file (v8 serialisation: every string and number round-trips exactly);
 * the parts are then merged. `valueOf` maps a row to what is kept of it (undefined: left out).
 */
export async function* inIdOrderStream<T>(rows: AsyncIterable<ResultRow>, valueOf: (r: ResultRow) => T | undefined, limits: SortLimits = SORT_LIMITS): AsyncGenerator<T> {
  let part: Entry<T>[] = [];
  let chars = 0;
  let dir: string | undefined;
  const files: string[] = [];
  try {
    for await (const r of rows) {
      const value = valueOf(r);
      if (value === undefined) continue;
      part.push({ id: r.sampleId, repeat: r.repeat ?? 0, value });
      chars += textOf(r);
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
    yield* merge<T>(files);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** One sorted part as length-prefixed frames. */
function spill<T>(part: Entry<T>[], file: string): string {
  const fd = openSync(file, 'w');
  try {
    let frames: Buffer[] = [];
    let size = 0;
    const flush = () => {
      const b = Buffer.concat(frames);
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
      (frames = []), (size = 0);
    };
    for (const e of part) {
      const body = serialize([e.id, e.repeat, e.value]);
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length);
      frames.push(head, body);
      size += 4 + body.length;
      if (size >= 1 << 20) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return file;
}

/** Merges sorted parts: the head of each part kept in order, the smallest taken, its part's next put in place. */
function* merge<T>(files: string[]): Generator<T> {
  const readers = files.map((f) => new PartReader<T>(f));
  try {
    const heads: { e: Entry<T>; from: PartReader<T> }[] = [];
    const put = (from: PartReader<T>) => {
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
class PartReader<T> {
  private fd: number;
  private buf = Buffer.alloc(64 * 1024);
  private start = 0;
  private end = 0;

  constructor(file: string) {
    this.fd = openSync(file, 'r');
  }

  next(): Entry<T> | undefined {
    if (!this.fill(4)) return undefined;
    const length = this.buf.readUInt32LE(this.start);
    if (!this.fill(4 + length)) throw new Error('a temporary sort file ended early');
    const [id, repeat, value] = deserialize(this.buf.subarray(this.start + 4, this.start + 4 + length)) as [string, number, T];
    this.start += 4 + length;
    return { id, repeat, value };
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
