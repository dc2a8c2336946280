import { randomBytes, timingSafeEqual } from 'node:crypto';

/** Most runs one page compares: each costs a leaderboard row and chart marks. */
export const MAX_COMPARED_RUNS = 20;
const MAX_PAGE = 1_000_000;

export class BadRequest extends Error {}

/**
 * `?page=`: a whole number from 1 (absent: 1). Anything else (1e308, -5, 2.5, abc) is the
 * client's mistake, a 400, not an offset the database chokes on.
 */
export function pageParam(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  if (!/^\d{1,7}$/.test(value) || Number(value) < 1 || Number(value) > MAX_PAGE) throw new BadRequest(`page must be a whole number from 1 to ${MAX_PAGE}`);
  return Number(value);
}

/**
 * Run ids from `runs=A,B` and `run=A&run=B`, each once, in order. More than MAX_COMPARED_RUNS
 * distinct ids is a 400: a page (or an <img> on some other site) asking for thousands must not
 * hold the viewer for minutes.
 */
export function runIdsParam(runs: string | undefined, run: string[] = []): string[] {
  const ids = [...new Set([...(runs ?? '').split(','), ...run].map((s) => s.trim()).filter(Boolean))];
  if (ids.length > MAX_COMPARED_RUNS) throw new BadRequest(`at most ${MAX_COMPARED_RUNS} runs at once (${ids.length} given)`);
  return ids;
}

/**
 * The viewer's write token: made when the viewer starts and written into its own pages' forms.
 * A page served from another localhost port shares the Origin check's "loopback" but cannot read
 * the viewer's pages, so it cannot know the token and cannot post labels.
 */
export function newViewerToken(): string {
  return randomBytes(18).toString('base64url');
}

export function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Heavy pages (leaderboards with charts) one at a time: rendering is synchronous work, so two at
 * once only make every other request wait longer. A few wait their turn; beyond that, 503.
 */
export class OneAtATime {
  private busy = false;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly maxWaiting = 4) {}

  async run<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (this.busy) {
      if (this.waiting.length >= this.maxWaiting) return undefined;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.busy = true;
    // Let requests that arrived meanwhile (a sample page, an image) be served first.
    await new Promise((resolve) => setImmediate(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy = false;
    }
  }
}
