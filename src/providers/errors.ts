import { displayUrl } from '../core/display-url.ts';
import { redactSecrets } from '../core/redact.ts';
import { forTerminal } from '../core/terminal.ts';
import { ProviderError, type ProviderErrorKind } from '../core/types.ts';

/**
 * An error's text as it may be stored and printed: the key it was sent with (and anything shaped
 * like a key) removed, in case the server echoed it, and no control characters.
 */
export function scrubbed(error: ProviderError, keys: (string | undefined)[]): ProviderError {
  const message = forTerminal(redactSecrets(error.message, keys), { oneLine: true });
  return message === error.message ? error : new ProviderError(error.kind, message, { status: error.status, retryAfterMs: error.retryAfterMs, cause: error.cause });
}

const HTML = /^\s*(<!doctype html|<html|<head|<body|<\?xml)|<\/(html|body|title)>/i;

/**
 * What a reply that should have been JSON was instead: a proxy's or captive portal's error page
 * says so ("not JSON (HTML page: 502 Bad Gateway)") rather than a parser's complaint. Undefined
 * when the text does not look like a page.
 */
export function notJson(text: string | undefined): string | undefined {
  if (!text || !HTML.test(text)) return undefined;
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1] ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(text)?.[1] ?? /<body[^>]*>\s*([^<]{1,80})/i.exec(text)?.[1];
  return `not JSON (HTML page${title?.trim() ? `: ${title.trim().slice(0, 80)}` : ''})`;
}

/** A reply the SDK could not parse: a page from a proxy (the parser met '<') or broken JSON. */
export function unparsableReply(provider: string, error: SyntaxError): ProviderError {
  const html = /'<'|"<(!doctype|html|head|body)/i.test(error.message);
  return new ProviderError('invalid_response', `${provider}: ${html ? "the API's reply is not JSON (HTML page)" : 'the API sent malformed JSON'}`);
}

type HeaderGetter = (name: string) => string | null | undefined;

/** Retry-After in seconds or as an HTTP date, or retry-after-ms; undefined when absent or unreadable. */
export function parseRetryAfter(get: HeaderGetter): number | undefined {
  const ms = get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const value = get('retry-after');
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(0, Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * The wait an error reply asks for: Retry-After (or retry-after-ms) when the server sent one, else
 * the reset of the rate limit that ran out, from OpenAI's `x-ratelimit-*` or Anthropic's
 * `anthropic-ratelimit-*` headers. Undefined when the reply names no wait.
 */
export function requestedWaitMs(status: number | undefined, get: HeaderGetter, now: number = Date.now()): number | undefined {
  return parseRetryAfter(get) ?? parseRateLimitReset(get, status === 429, now);
}

/** One rate limit a provider reports: how much of it is left, and when it is whole again. */
const RATE_LIMITS: { remaining: string; reset: string; parse: (value: string, now: number) => number | undefined }[] = [
  // OpenAI: the time until the limit is back to its initial state, as a Go duration ("1s", "6m0s", "20ms").
  ...['requests', 'tokens'].map((k) => ({ remaining: `x-ratelimit-remaining-${k}`, reset: `x-ratelimit-reset-${k}`, parse: parseGoDuration })),
  // Anthropic: the moment the limit is fully replenished, as an RFC 3339 timestamp.
  ...['requests', 'tokens', 'input-tokens', 'output-tokens'].map((k) => ({ remaining: `anthropic-ratelimit-${k}-remaining`, reset: `anthropic-ratelimit-${k}-reset`, parse: untilTimestamp })),
];

/**
 * The wait for the rate limit that ran out (remaining 0; the longest reset when several did). On a
 * 429 where none reads 0 (a large request can need more tokens than remain), the longest reset
 * the reply names. Unreadable values are ignored; undefined when nothing usable is left.
 */
export function parseRateLimitReset(get: HeaderGetter, limited: boolean, now: number = Date.now()): number | undefined {
  const limits: { exhausted: boolean; waitMs: number }[] = [];
  for (const l of RATE_LIMITS) {
    const reset = get(l.reset);
    const waitMs = reset ? l.parse(reset, now) : undefined;
    if (waitMs === undefined) continue;
    const remaining = get(l.remaining)?.trim();
    limits.push({ exhausted: !!remaining && Number(remaining) === 0, waitMs });
  }
  const chosen = limits.some((l) => l.exhausted) ? limits.filter((l) => l.exhausted) : limited ? limits : [];
  return chosen.length ? Math.max(...chosen.map((l) => l.waitMs)) : undefined;
}

const GO_UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ns: 1e-6 };
const GO_PART = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|μs|ns)/g;

/**
 * A Go duration ("1h2m3.5s", "6m0s", "20ms") in milliseconds, rounded up so a retry never comes
 * early; a bare number counts as seconds (some OpenAI-compatible servers send those). Undefined
 * for anything else.
 */
export function parseGoDuration(text: string): number | undefined {
  const s = text.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.ceil(Number(s) * 1000);
  if (!new RegExp(`^(?:${GO_PART.source})+$`).test(s)) return undefined;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(GO_PART)) ms += Number(n) * GO_UNIT_MS[unit]!;
  return Math.ceil(ms);
}

// Date.parse alone takes far more than RFC 3339 ("1" is the year 2001).
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds from `now` until an RFC 3339 timestamp (0 when it has passed); undefined when unreadable. */
export function untilTimestamp(text: string, now: number = Date.now()): number | undefined {
  const s = text.trim();
  if (!RFC3339.test(s)) return undefined;
  const at = Date.parse(s.toUpperCase().replace(' ', 'T'));
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const CONTENT_POLICY = /content[_ ]?(policy|filter|management)|safety system|responsible ?ai|blocked/i;
// OpenAI: context_length_exceeded; Anthropic: "prompt is too long"; Gemini: "input token count (N) exceeds the maximum".
const CONTEXT_LENGTH = /context[_ ]?length|too many tokens|maximum context|prompt is too long|token count .*exceeds the maximum/i;
// OpenAI's insufficient_quota and Anthropic's spend limit share the 429 of a rate limit; waiting does not lift them.
const QUOTA = /insufficient_quota|spend_limit|spend limit/i;
// Gemini answers a bad key with 400 INVALID_ARGUMENT and the reason API_KEY_INVALID, not with 401.
const BAD_KEY = /API_KEY_INVALID|API key not valid|API key expired/i;

/**
 * The wait a Google API asks for, from its RetryInfo detail ("retryDelay": "37s" or "1.5s");
 * Gemini sends it in the error body rather than as a Retry-After header.
 */
export function parseRetryInfo(details: unknown): number | undefined {
  if (!Array.isArray(details)) return undefined;
  for (const d of details) {
    const delay = (d as { retryDelay?: unknown })?.retryDelay;
    const m = typeof delay === 'string' ? /^(\d+(?:\.\d+)?)s$/.exec(delay) : null;
    if (m) return Math.round(Number(m[1]) * 1000);
  }
  return undefined;
}

/**
 * One classification of HTTP failures for every provider, so the runner decides retries and the
 * store records outcomes the same way whichever API answered.
 */
export function classifyHttpError(
  status: number | undefined,
  detail: { code?: string | null; type?: string | null; message?: string },
  opts: { keyEnv?: string; retryAfterMs?: number; provider?: string; location?: string | null } = {},
): ProviderError {
  const text = `${detail.code ?? ''} ${detail.type ?? ''} ${detail.message ?? ''}`;
  const who = opts.provider ? `${opts.provider}: ` : '';
  const said = notJson(detail.message) ?? detail.message?.slice(0, 300);
  const message = `${who}HTTP ${status ?? '?'}${said ? `: ${said}` : ''}`;
  if (status !== undefined && status >= 300 && status < 400) {
    // The OpenAI and Anthropic SDKs send with a fetch that does not follow redirects (./http.ts), as
    // the Python SDKs do; Gemini's follows them, so it never sees a 3xx.
    const to = opts.location ? ` to ${displayUrl(opts.location)}` : '';
    return new ProviderError('bad_request', `${who}HTTP ${status}: the API redirects${to}; mmsafe does not follow redirects: use the address it names as --base-url`, { status });
  }
  let kind: ProviderErrorKind;
  if (status === 429 && QUOTA.test(text)) kind = 'quota';
  else if (status === 429) kind = 'rate_limit';
  else if (status === 503 || status === 529) kind = 'overloaded';
  else if (status === 408) kind = 'timeout';
  else if (status !== undefined && status >= 500) kind = 'server';
  else if (status === 401 || status === 403 || (status === 400 && BAD_KEY.test(text))) {
    // Never the key itself: only whether the variable that should hold it is set.
    const names = opts.keyEnv?.match(/[A-Z][A-Z0-9_]*_KEY/g) ?? [];
    const unset = names.length > 0 && names.every((n) => !process.env[n]);
    const env = !opts.keyEnv ? 'the API key was rejected' : unset ? `${opts.keyEnv} is not set` : `${opts.keyEnv} was rejected`;
    return new ProviderError('auth', `${who}${env} (HTTP ${status}); ${unset ? 'set it' : 'check the key'} in the environment`, { status });
  } else if (status === 404) kind = 'not_found';
  else if (CONTENT_POLICY.test(text)) kind = 'content_policy';
  else if (CONTEXT_LENGTH.test(text)) kind = 'context_length';
  else kind = 'bad_request';
  return new ProviderError(kind, message, { status, retryAfterMs: opts.retryAfterMs });
}

/** The socket-level reason behind a failed connection (ECONNREFUSED, ENOTFOUND), where the SDK kept it. */
export function connectionCause(error: unknown): string {
  let e = error as { cause?: unknown; code?: string; message?: string } | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && /^E[A-Z]+/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return (error as Error)?.message ?? 'connection failed';
}
