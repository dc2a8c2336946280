import type { Provider } from '../core/types.ts';
import { AnthropicProvider } from './anthropic.ts';
import { BaselineProvider, type BaselineName } from './baseline.ts';
import { GeminiProvider } from './gemini.ts';
import { OpenAIProvider } from './openai.ts';

export interface ProviderOptions {
  baseURL?: string;
  apiKey?: string;
  timeoutMs?: number;
  seed?: number;
  extra?: Record<string, unknown>;
}

const OLLAMA_URL = 'http://127.0.0.1:11434/v1';

/** One line per provider kind. */
const FACTORIES: Record<string, (model: string, opts: ProviderOptions) => Provider> = {
  openai: (model, o) => new OpenAIProvider({ model, baseURL: o.baseURL, apiKey: o.apiKey, timeoutMs: o.timeoutMs, extra: o.extra }),
  ollama: (model, o) =>
    new OpenAIProvider({ model, kind: 'ollama', baseURL: o.baseURL ?? OLLAMA_URL, apiKey: o.apiKey ?? 'ollama', timeoutMs: o.timeoutMs, extra: o.extra }),
  anthropic: (model, o) => new AnthropicProvider({ model, baseURL: o.baseURL, apiKey: o.apiKey, timeoutMs: o.timeoutMs, extra: o.extra }),
  gemini: (model, o) => new GeminiProvider({ model, baseURL: o.baseURL, apiKey: o.apiKey, timeoutMs: o.timeoutMs, seed: o.seed, extra: o.extra }),
  baseline: (model, o) => new BaselineProvider(model as BaselineName, o.seed ?? 0),
};

export const PROVIDER_KINDS = Object.keys(FACTORIES);

/** `kind:model`, split at the first colon: `ollama:qwen2.5vl:7b` is model `qwen2.5vl:7b`. */
export function parseModelSpec(spec: string): { kind: string; model: string } {
  const i = spec.indexOf(':');
  if (i <= 0 || i === spec.length - 1) {
    // `openai/gpt-4o` (the router spelling) is most likely meant as openai:gpt-4o.
    const slash = spec.indexOf('/');
    const guess = slash > 0 && PROVIDER_KINDS.includes(spec.slice(0, slash).toLowerCase()) ? `; did you mean ${spec.slice(0, slash).toLowerCase()}:${spec.slice(slash + 1)}?` : '';
    throw new Error(`model "${spec}" must be provider:model, e.g. openai:gpt-4o (providers: ${PROVIDER_KINDS.join(', ')})${guess}`);
  }
  return { kind: spec.slice(0, i), model: spec.slice(i + 1) };
}

export function createProvider(spec: string, opts: ProviderOptions = {}): Provider {
  const { kind, model } = parseModelSpec(spec);
  const factory = FACTORIES[kind];
  if (!factory) {
    const near = PROVIDER_KINDS.find((k) => k === kind.toLowerCase() || k.startsWith(kind.toLowerCase()) || kind.toLowerCase().startsWith(k));
    throw new Error(`unknown provider "${kind}" in "${spec}"; known: ${PROVIDER_KINDS.join(', ')}${near ? `; did you mean ${near}:${model}?` : ''}`);
  }
  return factory(model, opts);
}
