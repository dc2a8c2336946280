/**
 * Secrets out of error text before it is stored or printed: a server that echoes the request's
 * key in its error message must not get it into the database, a report or the terminal. Removes
 * the keys given, the values of key-like environment variables, and anything shaped like a
 * bearer token or a vendor key.
 */
const SHAPES: [RegExp, string][] = [
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/gi, '$1 [redacted]'],
  [/\bsk-[A-Za-z0-9_-]{6,}/g, 'sk-[redacted]'],
  [/\bAIza[0-9A-Za-z_-]{20,}/g, '[redacted]'],
  [/((?:api[_-]?key|x-api-key|x-goog-api-key|access[_-]?token|password)["']?\s*[:=]\s*["']?)[^\s"',;&]{6,}/gi, '$1[redacted]'],
];
const SECRET_ENV = /(_API_KEY|_KEY|_TOKEN|_SECRET|_PASSWORD)$/;

export function redactSecrets(text: string, keys: (string | undefined)[] = []): string {
  const env = Object.entries(process.env).filter(([name, v]) => SECRET_ENV.test(name) && v).map(([, v]) => v!);
  let out = text;
  // Longest first, so a key that contains another is removed whole.
  for (const key of [...new Set([...keys, ...env])].filter((k): k is string => Boolean(k) && k!.length >= 6).sort((a, b) => b.length - a.length)) {
    out = out.split(key).join('[redacted]');
  }
  for (const [pattern, replacement] of SHAPES) out = out.replace(pattern, replacement);
  return out;
}
