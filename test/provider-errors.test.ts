import { afterEach, describe, expect, it } from 'vitest';
import { classifyHttpError, connectionCause } from '../src/providers/errors.ts';
import { createProvider } from '../src/providers/registry.ts';
import { startMockOpenAI } from '../src/mock/openai-server.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import { ProviderError } from '../src/core/types.ts';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('error messages a user can act on', () => {
  it('a 401 says whether the key variable is unset or was rejected, and never shows the key', () => {
    delete process.env.GEMINI_API_KEY;
    delete process.env.GOOGLE_API_KEY;
    const unset = classifyHttpError(401, { message: 'no key' }, { keyEnv: 'GEMINI_API_KEY (or GOOGLE_API_KEY)', provider: 'gemini:x' });
    expect(unset.kind).toBe('auth');
    expect(unset.message).toMatch(/GEMINI_API_KEY \(or GOOGLE_API_KEY\) is not set \(HTTP 401\); set it/);
    process.env.GOOGLE_API_KEY = 'AIza-secret-value';
    const rejected = classifyHttpError(401, { message: 'bad key' }, { keyEnv: 'GEMINI_API_KEY (or GOOGLE_API_KEY)' });
    expect(rejected.message).toMatch(/was rejected/);
    expect(rejected.message).not.toContain('AIza-secret-value');
  });

  it('a connection failure names the socket reason, however deep the SDK wrapped it', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('Connection error.', { cause: new TypeError('fetch failed', { cause: inner }) });
    expect(connectionCause(wrapped)).toBe('ECONNREFUSED');
    expect(connectionCause(new Error('plain'))).toBe('plain');
  });

  it.each([
    ['openai', startMockOpenAI],
    ['anthropic', startMockAnthropic],
  ] as const)('%s: a server that is down is a network error with ECONNREFUSED', async (kind, start) => {
    const server = await start();
    const url = server.url;
    await server.close();
    const provider = createProvider(`${kind}:m`, { baseURL: url, apiKey: 'x', timeoutMs: 2000 });
    const error = await provider.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], maxTokens: 5 }, { signal: new AbortController().signal }).then(() => undefined, (e) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('network');
    expect((error as ProviderError).message).toMatch(/ECONNREFUSED/);
  });
});
