/**
 * `--provider-option` values merged over what mmsafe would send. A `null` value removes the field
 * instead of sending null: some models refuse a field mmsafe sets by default (OpenAI's o-series
 * and temperature, newer Claude models and sampling settings), and this is how a user drops it.
 */
export function mergeOptions(body: Record<string, unknown>, ...extras: (Record<string, unknown> | undefined)[]): Record<string, unknown> {
  const out = { ...body };
  for (const extra of extras) {
    for (const [key, value] of Object.entries(extra ?? {})) {
      if (value === null) delete out[key];
      else out[key] = value;
    }
  }
  return out;
}

/** `top_p` -> `topP`: Gemini's SDK and JSON body use lowerCamelCase names. */
export function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}
