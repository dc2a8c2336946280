import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/types.ts';
import { sdkFetch } from '../src/providers/http.ts';
import { createProvider } from '../src/providers/registry.ts';
import { closedPort } from './helpers/net.ts';

/** A loopback server whose routes each test sets; it records what arrived. */
let server: http.Server;
let base: string;
const seen: { method?: string; url?: string; body: string; headers: http.IncomingHttpHeaders }[] = [];
let route: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void = (_q, res) => res.end();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method, url: req.url, body, headers: req.headers });
      route(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const request = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Is this safe?' }] }] };

describe('sdkFetch: the fetch the SDKs send with', () => {
  it('sends the body byte for byte and returns status, headers and body', async () => {
    seen.length = 0;
    route = (_q, res, body) => {
      res.setHeader('x-echo-length', String(Buffer.byteLength(body)));
      res.setHeader('x-multi', ['a', 'b']);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ got: body }));
    };
    const body = JSON.stringify({ text: 'ünïcode ✓ \u0000 end' });
    const res = await sdkFetch(`${base}/v1/x`, { method: 'POST', headers: new Headers({ 'content-type': 'application/json', authorization: 'Bearer k' }), body });
    expect(res.status).toBe(201);
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-echo-length')).toBe(String(Buffer.byteLength(body)));
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(await res.json()).toEqual({ got: body });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/x', body });
    expect(seen[0].headers.authorization).toBe('Bearer k');
  });

  it.each([
    ['gzip', gzipSync],
    ['br', brotliCompressSync],
  ] as const)('decodes a %s answer, as fetch does', async (encoding, compress) => {
    const json = JSON.stringify({ text: 'compressed ✓'.repeat(50) });
    route = (_q, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(compress(Buffer.from(json)));
    const res = await sdkFetch(`${base}/z`, { method: 'POST', body: '{}' });
    expect(await res.text()).toBe(json);
    expect(res.headers.get('content-encoding')).toBeNull();
  });

  it('leaves out the connection headers fetch forbids, instead of failing', async () => {
    seen.length = 0;
    route = (_q, res) => res.end('{}');
    const res = await sdkFetch(`${base}/h`, { method: 'POST', body: '{}', headers: { connection: 'upgrade', upgrade: 'websocket', 'x-kept': 'yes' } });
    expect(res.status).toBe(200);
    expect(seen[0].headers['x-kept']).toBe('yes');
    expect(seen[0].headers.upgrade).toBeUndefined();
  });

  it('answers 204 with no body', async () => {
    route = (_q, res) => res.writeHead(204).end();
    const res = await sdkFetch(`${base}/empty`, { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
  });

  it('returns a redirect instead of following it', async () => {
    seen.length = 0;
    route = (req, res) => (req.url === '/moved' ? res.writeHead(307, { location: `${base}/target` }).end() : res.end('{}'));
    const res = await sdkFetch(`${base}/moved`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(307);
    expect(res.headers.get('location')).toBe(`${base}/target`);
    expect(seen.map((s) => s.url)).toEqual(['/moved']);
  });

  it('fails like fetch when nothing listens: a TypeError whose cause is the socket error', async () => {
    const error = await sdkFetch(`http://127.0.0.1:${await closedPort()}/`, { method: 'POST', body: '{}' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(((error as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('rejects with the abort reason when cancelled while the body trickles in', async () => {
    route = (_q, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":');
    };
    const controller = new AbortController();
    const reason = new Error('stop now');
    const pending = sdkFetch(`${base}/slow`, { method: 'POST', body: '{}', signal: controller.signal });
    setTimeout(() => controller.abort(reason), 100);
    await expect(pending).rejects.toBe(reason);
  });

  it('sends a streamed body the standard way', async () => {
    seen.length = 0;
    route = (_q, res, body) => res.end(body.toUpperCase());
    const stream = new ReadableStream({ start: (c) => (c.enqueue(new TextEncoder().encode('streamed')), c.close()) });
    const res = await sdkFetch(`${base}/stream`, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(await res.text()).toBe('STREAMED');
  });
});

describe.each(['openai', 'anthropic'])('%s provider: a redirecting API', (kind) => {
  it('is a clear, non-retryable error naming where it points, without its password', async () => {
    seen.length = 0;
    route = (_q, res) => res.writeHead(308, { location: 'https://user:s3cret@api.example/v1?sig=abc', 'content-type': 'application/json' }).end('{}');
    const provider = createProvider(`${kind}:m`, { baseURL: `${base}/old`, apiKey: 'k-test', timeoutMs: 2000 });
    const error = (await provider.generate(request).catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.kind).toBe('bad_request');
    expect(error.message).toContain('HTTP 308');
    expect(error.message).toContain('https://api.example/v1');
    expect(error.message).not.toContain('s3cret');
    expect(seen).toHaveLength(1);
  });
});
