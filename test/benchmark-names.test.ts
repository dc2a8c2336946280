import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCHMARKS } from '../src/benchmarks/registry.ts';

/**
 * A benchmark is one file under src/benchmarks/: nothing else in src/ may name one, or adding the
 * next benchmark means hunting for the places that special-case the last one. Driven by the
 * registry, so a new benchmark is covered the day it is registered.
 */
const SRC = path.resolve(import.meta.dirname, '../src');

/** Where a name may appear although it is not a benchmark definition, and why. */
const ALLOWED: { file: string; line: RegExp }[] = [
  // The `mmsafe demo` command is a public command name that happens to match the demo benchmark's.
  { file: 'cli/demo.ts', line: /\.command\('demo'\)|summaryOf\('demo'\)/ },
  // The same command in the command table that `mmsafe --help` reads.
  { file: 'cli/commands.ts', line: /^ {2}\{ name: 'demo', term: 'demo \[options\]'/ },
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.(ts|js|mjs)$/.test(name) ? [full] : [];
  });
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every name as a string literal; proper-noun titles (MMSafeAware) also as a word, comments included. */
const PATTERNS = BENCHMARKS.flatMap((b) => [
  { benchmark: b.name, re: new RegExp(`(['"\`])(${escape(b.name)}|${escape(b.title)})\\1`, 'i') },
  ...(/[A-Z]/.test(b.title) ? [{ benchmark: b.name, re: new RegExp(`\\b${escape(b.title)}\\b`, 'i') }] : []),
]);

describe('no benchmark is named outside src/benchmarks/', () => {
  it('covers every registered benchmark', () => {
    expect(BENCHMARKS.length).toBeGreaterThanOrEqual(4);
    expect(new Set(PATTERNS.map((p) => p.benchmark))).toEqual(new Set(BENCHMARKS.map((b) => b.name)));
  });

  it('finds no benchmark name in src/ outside the definitions', () => {
    const found: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = path.relative(SRC, file).split(path.sep).join('/');
      if (rel.startsWith('benchmarks/')) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (ALLOWED.some((a) => a.file === rel && a.line.test(line))) return;
        for (const p of PATTERNS) if (p.re.test(line)) found.push(`src/${rel}:${i + 1} names ${p.benchmark}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(found).toEqual([]);
  });
});
