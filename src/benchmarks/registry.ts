import { DatasetError } from '../datasets/errors.ts';
import { custom } from './custom.ts';
import { demo } from './demo.ts';
import { mmsafeaware } from './mmsafeaware.ts';
import { mmSafetyBench } from './mm-safetybench.ts';
import { mossbench } from './mossbench.ts';
import { siuo } from './siuo.ts';
import { vlsbench } from './vlsbench.ts';
import { salad } from './salad.ts';
import type { BenchmarkDefinition, PromptTemplate, ProtocolName, ProtocolSpec } from './types.ts';

/** A user's rows file (.jsonl/.json/.csv, the custom-set format), e.g. few-shot examples. */
export { loadCustom as loadRowsFile } from './custom.ts';

/** One line per benchmark. The first is the default `--benchmark`. */
export const BENCHMARKS: readonly BenchmarkDefinition[] = [mmsafeaware, salad, custom, demo, mossbench, vlsbench, mmSafetyBench, siuo];

export const DEFAULT_BENCHMARK = BENCHMARKS[0].name;

/** The names `--benchmark` accepts (`pullable`: only those `data pull` can download). */
export function benchmarkNames(opts: { pullable?: boolean } = {}): string[] {
  return BENCHMARKS.filter((b) => !opts.pullable || b.source).map((b) => b.name);
}

export function findBenchmark(name: string): BenchmarkDefinition | undefined {
  return BENCHMARKS.find((b) => b.name === name);
}

export function getBenchmark(name: string): BenchmarkDefinition {
  const def = findBenchmark(name);
  if (!def) throw new DatasetError(`unknown benchmark "${name}"; known: ${benchmarkNames().join(', ')}`);
  return def;
}

/** The protocol a benchmark is run with unless `--protocol` says otherwise. */
export function defaultProtocol(name: string): ProtocolName {
  return findBenchmark(name)?.defaultProtocol ?? 'awareness';
}

/**
 * How `benchmark` is run under `protocol`: its own spec, or else the spec of the first benchmark
 * built for that protocol (SaLAD's items asked as a yes/no question, MMSafeAware's judged as free
 * answers). Undefined when no benchmark defines the protocol.
 */
export function protocolSpec(benchmark: string, protocol: ProtocolName): ProtocolSpec | undefined {
  const own = findBenchmark(benchmark)?.protocols[protocol];
  if (own) return own;
  const home = BENCHMARKS.find((b) => b.defaultProtocol === protocol) ?? BENCHMARKS.find((b) => b.protocols[protocol]);
  return home?.protocols[protocol];
}

/** The text `benchmark` asks for an item under `protocol`, before any method or ablation. */
export function promptFor(benchmark: string, protocol: ProtocolName): PromptTemplate {
  const spec = protocolSpec(benchmark, protocol);
  if (!spec) throw new DatasetError(`no benchmark defines the ${protocol} protocol`);
  return spec.prompt;
}
