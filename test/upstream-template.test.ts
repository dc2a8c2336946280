import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonStringAfter, PythonLiteralError } from '../src/upstream/python-literal.ts';
import { gitCheckout } from '../src/upstream/git-checkout.ts';
import { fillTemplate, gitBlobId, readTemplateFile, resolveTemplate, TemplateError, type TemplateSpec } from '../src/upstream/template.ts';

// Every source below is this test's own wording, laid out the way Python projects publish prompts.
describe('reading a Python string constant', () => {
  it('reads a triple-quoted string with its newlines and escapes', () => {
    const src = 'import os\nJUDGE = """Line one {x}\n  line \\"two\\"\\tend\\\n joined"""\nOTHER = 1\n';
    expect(pythonStringAfter(src, ['JUDGE'])).toBe('Line one {x}\n  line "two"\tend joined');
  });

  it('joins adjacent literals inside parentheses, across lines and comments', () => {
    const src = "t = (\n    'first part, '  # a comment\n    \"second \\n\"\n    r'raw \\n kept'\n)\n";
    expect(pythonStringAfter(src, ['t ='])).toBe('first part, second \nraw \\n kept');
  });

  it('an anchor may end at the opening parenthesis', () => {
    expect(pythonStringAfter("x = (\n  'a'\n  'b'\n)", ['x = ('])).toBe('ab');
  });

  it('finds the value after a chain of anchors', () => {
    const src = "if mode == 'a':\n    tpl = 'for a'\nif mode == 'b':\n    tpl = 'for b {q}'\n";
    expect(pythonStringAfter(src, ["mode == 'b'", 'tpl ='])).toBe('for b {q}');
    expect(pythonStringAfter(src, ['tpl ='])).toBe('for a');
  });

  it('decodes hex, unicode and octal escapes', () => {
    expect(pythonStringAfter("v = '\\x41\\u00e9\\101'", ['v'])).toBe('AéA');
  });

  it('refuses what has no fixed text: f-strings, missing anchors, unterminated strings', () => {
    expect(() => pythonStringAfter("v = f'{x}'", ['v'])).toThrow(PythonLiteralError);
    expect(() => pythonStringAfter("v = 'x'", ['w ='])).toThrow(/not found/);
    expect(() => pythonStringAfter("v = 'open\n'", ['v'])).toThrow(PythonLiteralError);
    expect(() => pythonStringAfter('v = build()', ['v'])).toThrow(/no string literal/);
  });
});

describe('filling a template as upstream does', () => {
  it('format: named fields, doubled braces are literal, an unknown field is an error', () => {
    const t = { text: 'Q={q} {{not a field}} A={a}', fill: 'format' as const, fields: ['q', 'a'] };
    expect(fillTemplate(t, { q: 'why {a}?', a: '$& ok' })).toBe('Q=why {a}? {not a field} A=$& ok');
    expect(() => fillTemplate({ ...t, text: '{q} {zzz}' }, { q: '1', a: '2' })).toThrow(TemplateError);
  });

  it('replace: every occurrence, in order, leaving other braces alone', () => {
    const t = { text: '{q} / {q} / {explain yourself} / {r}', fill: 'replace' as const, fields: ['q', 'r'] };
    // A later field is replaced inside an earlier value too, as chained str.replace does.
    expect(fillTemplate(t, { q: 'x{r}', r: 'R' })).toBe('xR / xR / {explain yourself} / R');
  });
});

describe('resolving a template from the upstream repository', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-tpl-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const source = 'PROMPT = """Grade {answer} for {question}."""\n';
  mkdirSync(path.join(root, 'eval'), { recursive: true });
  writeFileSync(path.join(root, 'eval', 'prompts.py'), source);
  const spec: TemplateSpec = { name: 'grade', file: 'eval/prompts.py', anchors: ['PROMPT ='], fill: 'format', fields: ['question', 'answer'] };
  const pin = { repo: 'someone/bench', commit: 'c'.repeat(40), blobs: { 'eval/prompts.py': gitBlobId(Buffer.from(source)) } };

  it('the git blob id is the one git computes', () => {
    // `printf 'hello\n' | git hash-object --stdin`
    expect(gitBlobId(Buffer.from('hello\n'))).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });

  it('reads the upstream file and records file, commit and a verified hash', () => {
    const t = resolveTemplate(spec, pin, { root, fallback: 'mine {question} {answer}' });
    expect(t.text).toBe('Grade {answer} for {question}.');
    expect(t.source).toMatchObject({ origin: 'upstream', file: 'eval/prompts.py', repo: 'someone/bench', commit: pin.commit, verified: true });
    expect(t.source.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('marks a file that differs from the pinned commit as unverified, and still uses it', () => {
    const t = resolveTemplate(spec, { ...pin, blobs: { 'eval/prompts.py': 'f'.repeat(40) } }, { root });
    expect(t.source.verified).toBe(false);
    expect(t.source.note).toMatch(/differs from someone\/bench@cccccccccccc/);
  });

  it('an explicit --judge-prompts entry wins; without the file the fallback is used and marked', () => {
    expect(resolveTemplate(spec, pin, { root, overrides: { grade: 'user {question} {answer}' } }).source.origin).toBe('judge-prompts');
    const empty = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-tpl-empty-'));
    try {
      const t = resolveTemplate(spec, pin, { root: empty, fallback: 'mine {question} {answer}' });
      expect(t.source).toMatchObject({ origin: 'mmsafe-fallback' });
      expect(t.source.note).toMatch(/eval\/prompts.py not found/);
      expect(() => resolveTemplate(spec, pin, { root: empty })).toThrow(/--judge-prompts FILE/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('refuses a template without the fields it will be filled with', () => {
    expect(() => resolveTemplate(spec, pin, { root, overrides: { grade: 'no fields here' } })).toThrow(/has no \{question\}, \{answer\}/);
  });

  it('reads a --judge-prompts file and rejects a malformed one', () => {
    const file = path.join(root, 'prompts.json');
    writeFileSync(file, JSON.stringify({ grade: 'x {question} {answer}' }));
    expect(readTemplateFile(file)).toEqual({ grade: 'x {question} {answer}' });
    writeFileSync(file, '["not", "an object"]');
    expect(() => readTemplateFile(file)).toThrow(/JSON object/);
  });
});

describe('checking a snapshot against its pin', () => {
  it('lists verified, differing and missing files', async () => {
    const { checkPin, archiveUrl } = await import('../src/upstream/template.ts');
    const root = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pin-'));
    try {
      writeFileSync(path.join(root, 'a.json'), 'same');
      writeFileSync(path.join(root, 'b.json'), 'changed');
      const pin = { repo: 'o/r', commit: 'd'.repeat(40), blobs: { 'a.json': gitBlobId(Buffer.from('same')), 'b.json': gitBlobId(Buffer.from('original')), 'c.json': 'e'.repeat(40) } };
      const check = checkPin(root, pin);
      expect(check.verified).toEqual(['a.json']);
      expect(check.differing).toEqual([{ file: 'b.json', blob: gitBlobId(Buffer.from('changed')), expected: pin.blobs['b.json'] }]);
      expect(check.missing).toEqual(['c.json']);
      expect(archiveUrl(pin)).toBe(`https://codeload.github.com/o/r/tar.gz/${'d'.repeat(40)}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// A plain `git clone` as --data: the templates verify by blob id and the checked-out commit is recorded.
const hasGit = (() => {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasGit) console.warn('[skip] plain-clone tests: git is not installed here');
describe.skipIf(!hasGit)('--data as a plain git clone', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-clone-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', '-c', 'core.hooksPath=/dev/null', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();
  const source = 'RUBRIC = """Score {answer} to {question} please."""\n';
  const spec: TemplateSpec = { name: 'rubric', file: 'judge/rubric.py', anchors: ['RUBRIC ='], fill: 'format', fields: ['question', 'answer'] };
  const pin = { repo: 'someone/bench', commit: 'e'.repeat(40), blobs: { 'judge/rubric.py': gitBlobId(Buffer.from(source)) } };

  it('verifies the pinned file in a clone, records the checked-out commit, and reads a later commit as unverified', () => {
    const upstream = path.join(work, 'upstream');
    mkdirSync(path.join(upstream, 'judge'), { recursive: true });
    writeFileSync(path.join(upstream, 'judge', 'rubric.py'), source);
    git(upstream, 'init', '-q');
    git(upstream, 'add', '.');
    git(upstream, 'commit', '-qm', 'first');
    const clone = path.join(work, 'clone');
    git(work, 'clone', '-q', upstream, clone);
    const head = git(clone, 'rev-parse', 'HEAD');
    expect(gitCheckout(clone)).toBe(head);
    expect(resolveTemplate(spec, pin, { root: clone }).source).toMatchObject({ origin: 'upstream', commit: pin.commit, checkout: head, verified: true });

    writeFileSync(path.join(clone, 'judge', 'rubric.py'), 'RUBRIC = """Rate {answer} for {question}."""\n');
    git(clone, 'commit', '-qam', 'reworded');
    git(clone, 'pack-refs', '--all');
    const later = git(clone, 'rev-parse', 'HEAD');
    expect(later).not.toBe(head);
    const t = resolveTemplate(spec, pin, { root: clone });
    expect(t.text).toBe('Rate {answer} for {question}.');
    expect(t.source).toMatchObject({ checkout: later, verified: false });
    expect(t.source.note).toContain(`--data is a clone at ${later.slice(0, 12)}`);
    git(clone, 'checkout', '-q', '--detach', head);
    expect(gitCheckout(clone)).toBe(head);
    // An unpacked snapshot (no .git) has no checkout to record.
    expect(gitCheckout(work)).toBeUndefined();
    expect(resolveTemplate(spec, pin, { root: path.join(upstream, 'judge', '..') }).source.checkout).toBe(git(upstream, 'rev-parse', 'HEAD'));
  });
});
