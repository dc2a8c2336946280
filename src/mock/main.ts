import { parseArgs } from 'node:util';
import { startMockAnthropic } from './anthropic-server.ts';
import type { FaultKind, MockOptions } from './common.ts';
import { startMockGemini } from './gemini-server.ts';
import { startMockOpenAI } from './openai-server.ts';

/**
 * `node bin/run-ts.js src/mock/main.ts [--api openai|anthropic|gemini] [--port N] [--latency MS]
 * [--fault-rate 0.2 --faults 429,500 --retry-after S --ratelimit-reset S]`: a mock model API on loopback, for trying mmsafe without
 * a key and for benchmarks. Prints the base URL on stdout.
 */
const { values } = parseArgs({
  options: {
    api: { type: 'string', default: 'openai' },
    port: { type: 'string', default: '0' },
    latency: { type: 'string', default: '0' },
    'fault-rate': { type: 'string', default: '0' },
    faults: { type: 'string', default: '429,500' },
    seed: { type: 'string', default: '1' },
    'retry-after': { type: 'string', default: '0' },
    // For the fault 429-reset-headers: when the API's rate-limit headers say the spent limit resets.
    'ratelimit-reset': { type: 'string', default: '1' },
  },
});
const opts: MockOptions = {
  port: Number(values.port),
  latencyMs: Number(values.latency),
  retryAfterSeconds: Number(values['retry-after']),
  rateLimitResetSeconds: Number(values['ratelimit-reset']),
  faults: Number(values['fault-rate']) > 0 ? { rate: Number(values['fault-rate']), kinds: values.faults!.split(',') as FaultKind[], seed: Number(values.seed) } : undefined,
};
const start = { openai: startMockOpenAI, anthropic: startMockAnthropic, gemini: startMockGemini }[values.api as 'openai'];
if (!start) {
  process.stderr.write(`unknown --api ${values.api}; use openai, anthropic or gemini\n`);
  process.exit(2);
}
const server = await start(opts);
process.stdout.write(`${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
