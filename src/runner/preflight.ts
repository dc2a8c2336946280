import { ProviderError, type Provider } from '../core/types.ts';
import { withDeadline } from '../providers/deadline.ts';
import { parseModelSpec } from '../providers/registry.ts';

/** The run cannot work as configured: no key, no server, no such model. Nothing was stored. */
export class PreflightError extends Error {}

/**
 * Ctrl-C during the check: nothing of the run was asked yet, so nothing is stored (a new run is
 * not created, a resumed one is left as it was). Exit 130, like any interrupted run.
 */
export class PreflightInterrupted extends Error {}

/** Where each API's key lives when mmsafe talks to the vendor itself (a local server needs none). */
const KEY_ENV: Record<string, string[]> = {
  openai: ['OPENAI_API_KEY'],
  anthropic: ['ANTHROPIC_API_KEY'],
  gemini: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
};

/** A connection dropped midway may be a hiccup; anything else (refused, no such host) means a wrong address. */
const TRANSIENT = /ECONNRESET|EPIPE|hang up|other side closed/i;

export interface PreflightTarget {
  /** `--model`, `--judge`: the flag the user would change. */
  role: string;
  spec: string;
  provider: Provider;
  /** An address the user gave (--base-url, --endpoints); without one the vendor's own API is used. */
  customURL?: string;
}

/**
 * A missing key, checked before anything is sent: the vendor's API would only answer 401, and a
 * machine without network would blame the network instead.
 */
export function checkKeys(targets: PreflightTarget[], injectedKey?: string): void {
  if (injectedKey) return;
  for (const t of targets) {
    const { kind } = parseModelSpec(t.spec);
    const names = KEY_ENV[kind];
    const custom = t.customURL ?? (kind === 'openai' ? process.env.OPENAI_BASE_URL : undefined);
    if (!names || custom || names.some((n) => process.env[n])) continue;
    throw new PreflightError(
      `${t.role} ${t.spec}: ${names.join(' or ')} is not set; export ${names[0]}=... first` +
        (kind === 'openai' ? ' (a local OpenAI-compatible server needs no key: give its --base-url)' : ''),
    );
  }
}

/**
 * One short text request per model (no image, a few tokens), sent once, no retry: it proves the
 * endpoint, the key and the model name before hundreds of samples go out. Only answers that no
 * retry can fix stop the run; a busy server or a slow first answer is left to the run.
 */
export async function preflight(targets: PreflightTarget[], opts: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const interrupted = () => new PreflightInterrupted('interrupted during the start-up check, before any sample was asked: nothing was stored');
  if (opts.signal?.aborted) throw interrupted();
  const failures = await Promise.all(targets.map((t) => probe(t, opts.timeoutMs, opts.signal)));
  // The check's own answer (a cancelled request) says nothing about the key: the user stopped it.
  if (opts.signal?.aborted) throw interrupted();
  const first = failures.find((f) => f !== undefined);
  if (first) throw new PreflightError(`${first} (checked before the run; nothing was stored. --no-preflight skips this check)`);
}

async function probe(t: PreflightTarget, timeoutMs: number, interrupt?: AbortSignal): Promise<string | undefined> {
  if (!t.provider.needsImages) return undefined; // baselines ask no API
  try {
    // Ctrl-C (the run's interrupt signal) cancels the check at once, not after its timeout.
    await withDeadline(Math.min(timeoutMs, 30_000), interrupt, t.provider.id, (signal) =>
      t.provider.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply with the word OK.' }] }], maxTokens: 16, temperature: 0 }, { signal }),
    );
    return undefined;
  } catch (error) {
    // Not an API answer (the SDK refused its settings): the run would fail the same way on every sample.
    return error instanceof ProviderError ? verdict(t, error) : `${t.role} ${t.spec}: ${(error as Error).message}`;
  }
}

function verdict(t: PreflightTarget, e: ProviderError): string | undefined {
  const where = t.customURL ? ` at ${t.customURL}` : '';
  const detail = e.message.replace(`${t.provider.id}: `, '');
  switch (e.kind) {
    case 'auth':
    case 'quota':
      return `${t.role} ${e.message}`;
    case 'not_found':
      return `${t.role} ${t.spec}: model not found${where} (${detail}); check the model name${t.customURL ? ' and the URL' : ''}`;
    case 'network':
      return !TRANSIENT.test(e.message) ? `${t.role} ${e.message}; is the server running${t.customURL ? ', and is the URL right' : ''}?` : undefined;
    default:
      return undefined;
  }
}
