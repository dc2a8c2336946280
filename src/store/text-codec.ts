/**
 * Text both stores can hold, byte for byte. PostgreSQL refuses a NUL character (in TEXT and in
 * JSONB), and both stores turn a lone UTF-16 surrogate into U+FFFD on the way to UTF-8, so a model
 * answer holding either would be lost or changed. Such a string is stored as a marker followed by
 * its JSON form (which spells NUL and lone surrogates as \u escapes) and read back exactly; every
 * other string is stored as it is. A string that happens to begin with the marker is encoded too,
 * so decoding is never ambiguous.
 */
const MARKER = '\uf8ffmmsafe-json:';
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function encodeText<T extends string | null | undefined>(text: T): T {
  if (typeof text !== 'string' || !(UNSTORABLE.test(text) || text.startsWith(MARKER))) return text;
  return `${MARKER}${JSON.stringify(text)}` as T;
}

export function decodeText<T extends string | null | undefined>(text: T): T {
  if (typeof text !== 'string' || !text.startsWith(MARKER)) return text;
  return JSON.parse(text.slice(MARKER.length)) as T;
}

/** encodeText / decodeText over every string (keys too) of a JSON value: details hold answers as well. */
export function mapStrings(value: unknown, fn: (s: string) => string): unknown {
  if (typeof value === 'string') return fn(value);
  if (Array.isArray(value)) return value.map((v) => mapStrings(v, fn));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [fn(k), mapStrings(v, fn)]));
  return value;
}

