// The demo benchmark is defined in src/benchmarks/demo.ts; its writer is used from here by the
// `mmsafe demo` command and many tests.
export { loadDemo, writeDemoBenchmark } from '../benchmarks/demo.ts';
