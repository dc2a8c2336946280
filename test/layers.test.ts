import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

/** Every module a source file imports (static, re-exported or dynamic), as paths relative to src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.relative(SRC, path.resolve(path.dirname(file), s)));
}

function filesUnder(dir: string): string[] {
  return readdirSync(path.join(SRC, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(SRC, dir, f));
}

describe('layers', () => {
  it('metrics and reports import nothing from the providers (costs come stored with the rows)', () => {
    const offending: string[] = [];
    for (const file of [...filesUnder('metrics'), ...filesUnder('report')]) {
      for (const target of importsOf(file)) if (target.startsWith(`providers${path.sep}`)) offending.push(`${path.relative(SRC, file)} -> ${target}`);
    }
    expect(filesUnder('metrics').length).toBeGreaterThan(0);
    expect(offending).toEqual([]);
  });

  it('the import scanner sees static, type-only and dynamic imports', () => {
    const probe = path.join(SRC, 'report', 'summary.ts');
    expect(importsOf(probe)).toContain(path.join('metrics', 'usage.ts'));
    expect(importsOf(path.join(SRC, 'store', 'postgres.ts'))).toEqual(expect.arrayContaining([path.join('store', 'columns.ts')]));
  });
});
