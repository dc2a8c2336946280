import { ProviderError, type GenerateOptions, type GenerateRequest, type GenerateResponse, type Provider } from '../core/types.ts';

export interface EndpointStats {
  url: string;
  requests: number;
  errors: number;
  /** Times the endpoint was taken out of rotation after repeated failures. */
  benched: number;
  healthy: boolean;
}

interface Endpoint {
  url: string;
  provider: Provider;
  /** Requests in flight at most on this endpoint (0: no limit of its own). */
  limit: number;
  outstanding: number;
  consecutiveFailures: number;
  downUntil: number;
  backoffMs: number;
  stats: EndpointStats;
}

/** Failures that say the endpoint, not the request, is the problem. */
const ENDPOINT_FAULTS = new Set(['network', 'timeout', 'server', 'overloaded']);
const FAILURES_BEFORE_BENCH = 3;

/**
 * One model served by several replicas (vLLM, Ollama): each request goes to the healthy endpoint
 * with the fewest requests outstanding. An endpoint that fails repeatedly is benched for a
 * growing back-off (1 s doubling to 60 s) and tried again after it; if every endpoint is benched,
 * the least recently benched one is used rather than failing the run.
 */
export class MultiEndpointProvider implements Provider {
  readonly id: string;
  readonly imageLimits;
  readonly needsImages: boolean;
  readonly supportsLogprobs?: boolean;
  private readonly endpoints: Endpoint[];
  private readonly waiters: (() => void)[] = [];

  constructor(
    replicas: { url: string; provider: Provider; limit?: number }[],
    private readonly now: () => number = Date.now,
  ) {
    if (replicas.length === 0) throw new Error('no endpoints given');
    this.id = replicas[0].provider.id;
    this.imageLimits = replicas[0].provider.imageLimits;
    this.needsImages = replicas[0].provider.needsImages;
    this.supportsLogprobs = replicas[0].provider.supportsLogprobs;
    this.endpoints = replicas.map((r) => ({
      url: r.url,
      provider: r.provider,
      limit: r.limit ?? 0,
      outstanding: 0,
      consecutiveFailures: 0,
      downUntil: 0,
      backoffMs: 1000,
      stats: { url: r.url, requests: 0, errors: 0, benched: 0, healthy: true },
    }));
  }

  describe(): Record<string, unknown> {
    return { ...this.endpoints[0].provider.describe(), baseURL: undefined, endpoints: this.endpoints.map((e) => ({ url: e.url, limit: e.limit || undefined })) };
  }

  warmup() {
    return Promise.all(this.endpoints.map((e) => e.provider.warmup?.()));
  }

  stats(): EndpointStats[] {
    const t = this.now();
    return this.endpoints.map((e) => ({ ...e.stats, healthy: e.downUntil <= t }));
  }

  private pick(): Endpoint | undefined {
    const t = this.now();
    const open = this.endpoints.filter((e) => !e.limit || e.outstanding < e.limit);
    if (!open.length) return undefined;
    const healthy = open.filter((e) => e.downUntil <= t);
    const pool = healthy.length ? healthy : [open.reduce((a, b) => (a.downUntil <= b.downUntil ? a : b))];
    return pool.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
  }

  private async acquire(): Promise<Endpoint> {
    for (;;) {
      const e = this.pick();
      if (e) {
        e.outstanding++;
        return e;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(e: Endpoint): void {
    e.outstanding--;
    this.waiters.shift()?.();
  }

  async generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResponse> {
    const e = await this.acquire();
    e.stats.requests++;
    try {
      const res = await e.provider.generate(request, options);
      e.consecutiveFailures = 0;
      e.backoffMs = 1000;
      return res;
    } catch (error) {
      e.stats.errors++;
      if (error instanceof ProviderError && ENDPOINT_FAULTS.has(error.kind) && ++e.consecutiveFailures >= FAILURES_BEFORE_BENCH) {
        e.downUntil = this.now() + e.backoffMs;
        e.backoffMs = Math.min(60_000, e.backoffMs * 2);
        e.consecutiveFailures = 0;
        e.stats.benched++;
      }
      throw error instanceof ProviderError ? new ProviderError(error.kind, `${error.message} [endpoint ${e.url}]`, { status: error.status, retryAfterMs: error.retryAfterMs }) : error;
    } finally {
      this.release(e);
    }
  }
}

/** `--base-url a,b,c` or an endpoints file: one URL per line, optionally followed by its own concurrency limit. */
export function parseEndpoints(text: string): { url: string; limit?: number }[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((l) => {
      const [url, limit] = l.split(/\s+/);
      if (!/^https?:\/\//.test(url)) throw new Error(`endpoint "${url}" is not an http(s) URL`);
      if (limit !== undefined && !(Number.isInteger(Number(limit)) && Number(limit) > 0)) throw new Error(`endpoint ${url}: the concurrency limit must be a positive whole number`);
      return { url, ...(limit ? { limit: Number(limit) } : {}) };
    });
}
