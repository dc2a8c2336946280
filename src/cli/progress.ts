import type { RunProgress } from '../runner/run.ts';

/**
 * A progress bar on a terminal, plain lines otherwise (CI logs, pipes), so logs stay readable and
 * a redirected run does not fill a file with carriage returns.
 */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastPlainDone = -1;
  let lastPlainAt = 0;

  function line(p: RunProgress): string {
    const elapsed = (Date.now() - p.startedAt) / 1000;
    const rate = elapsed > 0 ? (p.done - p.skipped) / elapsed : 0;
    const pct = p.total ? Math.floor((p.done / p.total) * 100) : 100;
    const remaining = rate > 0 ? (p.total - p.done) / rate : undefined;
    const parts = [
      `${p.done}/${p.total} ${pct}%`,
      `${rate.toFixed(1)} it/s`,
      `errors ${p.errors}`,
      `retries ${p.retries}`,
      // Shown even at zero: "rate limits 0" tells a user the API is not what slows the run.
      `rate limits ${p.rateLimits}`,
      `in flight ${p.inFlight}/${p.concurrency}`,
    ];
    if (remaining !== undefined && p.done < p.total) parts.push(`ETA ${formatSeconds(remaining)}`);
    if (p.endpoints) parts.push(`endpoints ${p.endpoints.map((e, i) => `#${i + 1} ${e.requests}/${e.errors}${e.healthy ? '' : ' down'}`).join(', ')}`);
    return parts.join(' | ');
  }

  return {
    update(p: RunProgress, force = false): void {
      const now = Date.now();
      if (tty) {
        if (!force && now - lastDraw < 100) return;
        lastDraw = now;
        const width = 24;
        const filled = p.total ? Math.round((p.done / p.total) * width) : width;
        stream.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line(p)}\x1b[K`);
      } else {
        // Plain mode: a line every 5 s or every 10% at most.
        const step = Math.max(1, Math.ceil(p.total / 10));
        if (!force && now - lastPlainAt < 5000 && p.done - lastPlainDone < step) return;
        if (p.done === lastPlainDone && !force) return;
        lastPlainAt = now;
        lastPlainDone = p.done;
        stream.write(`progress: ${line(p)}\n`);
      }
    },
    finish(p: RunProgress): void {
      this.update(p, true);
      if (tty) stream.write('\n');
    },
  };
}

export function formatSeconds(s: number): string {
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
