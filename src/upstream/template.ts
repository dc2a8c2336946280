import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { gitCheckout } from './git-checkout.ts';
import { PythonLiteralError, pythonStringAfter } from './python-literal.ts';

/**
 * Prompt templates and judge prompts are part of a benchmark's published release: mmsafe reads
 * them at run time from the upstream repository the user downloaded (`--data`), checks the file
 * against the pinned commit, and records where each template came from. A user's
 * `--judge-prompts FILE` supplies templates by name instead; a benchmark's own fallback rubric
 * (mmsafe's wording, never the paper's) is the last resort and is marked as such in every report.
 */

/** An upstream repository at the commit mmsafe was checked against. */
export interface UpstreamPin {
  /** owner/name on GitHub. */
  repo: string;
  commit: string;
  /** Git blob ids (sha1) at that commit of the files mmsafe reads, by path from the repository root. */
  blobs: Record<string, string>;
}

/** Where one template lives upstream and how upstream fills it in. */
export interface TemplateSpec {
  /** The template's name: the key in a --judge-prompts file and in the run's record. */
  name: string;
  /** Path from the repository root. */
  file: string;
  /** Searched for in order; the Python string expression after the last one is the template. */
  anchors: readonly string[];
  /** Apply Python's str.strip() to the value, as the upstream code does. */
  strip?: boolean;
  /** `format`: Python str.format ({x}, {{ }}); `replace`: str.replace of each {x}, in the order given. */
  fill: 'format' | 'replace';
  /** The fields upstream fills in, in upstream's order. */
  fields: readonly string[];
}

export type TemplateOrigin = 'upstream' | 'judge-prompts' | 'mmsafe-fallback';

export interface TemplateSource {
  name: string;
  origin: TemplateOrigin;
  file?: string;
  repo?: string;
  /** The pinned commit the file was checked against (`verified`: the file is the one it has). */
  commit?: string;
  /** When --data is a plain git clone: the commit it has checked out (the file's version when not verified). */
  checkout?: string;
  /** Git blob id of the file read; `verified` when it equals the pinned one. */
  blob?: string;
  verified?: boolean;
  /** sha256 of the template text itself. */
  sha256: string;
  /** Why a fallback was used, or what did not match. */
  note?: string;
}

export interface ResolvedTemplate {
  text: string;
  fill: TemplateSpec['fill'];
  fields: readonly string[];
  source: TemplateSource;
}

export class TemplateError extends Error {}

/** The id git gives a file's content (what `git ls-tree` lists), so a plain clone verifies too. */
export function gitBlobId(content: Buffer): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A --judge-prompts file: a JSON object of template name -> template text. */
export function readTemplateFile(file: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new TemplateError(`${file}: not a readable JSON file (${(error as Error).message})`);
  }
  const parsed = z.record(z.string(), z.string().min(1)).safeParse(raw);
  if (!parsed.success) throw new TemplateError(`${file}: expected a JSON object of template name -> template text`);
  return parsed.data;
}

export interface ResolveOptions {
  /** Root of the upstream repository (`--data`). */
  root: string;
  /** Templates from --judge-prompts, by name. */
  overrides?: Record<string, string>;
  /** mmsafe's own wording for this template, used when neither of the above has it. */
  fallback?: string;
}

/**
 * The template to use, with where it came from. An explicit --judge-prompts entry wins; then the
 * upstream file; then the fallback. A missing file or an anchor that is not found falls through
 * (noted); a file that differs from the pinned commit is still used, marked unverified.
 */
export function resolveTemplate(spec: TemplateSpec, pin: UpstreamPin, opts: ResolveOptions): ResolvedTemplate {
  const make = (text: string, source: Omit<TemplateSource, 'name' | 'sha256'>): ResolvedTemplate => {
    checkFields(spec, text, source.origin);
    return { text, fill: spec.fill, fields: spec.fields, source: { name: spec.name, ...source, sha256: sha256(text) } };
  };
  const given = opts.overrides?.[spec.name];
  if (given !== undefined) return make(given, { origin: 'judge-prompts' });
  const file = path.join(opts.root, spec.file);
  let why: string;
  if (existsSync(file)) {
    const content = readFileSync(file);
    const blob = gitBlobId(content);
    const pinned = pin.blobs[spec.file];
    try {
      let text = pythonStringAfter(content.toString('utf8'), spec.anchors);
      if (spec.strip) text = pyStrip(text);
      // A plain clone may be at another commit than the pin: the one it has checked out is recorded too.
      const checkout = gitCheckout(opts.root);
      return make(text, {
        origin: 'upstream',
        file: spec.file,
        repo: pin.repo,
        commit: pin.commit,
        ...(checkout ? { checkout } : {}),
        blob,
        verified: blob === pinned,
        ...(blob === pinned ? {} : { note: `${spec.file} differs from ${pin.repo}@${pin.commit.slice(0, 12)} (blob ${blob.slice(0, 12)}, expected ${pinned?.slice(0, 12) ?? 'unknown'})${checkout ? `; --data is a clone at ${checkout.slice(0, 12)}` : ''}` }),
      });
    } catch (error) {
      if (!(error instanceof PythonLiteralError)) throw error;
      why = `${spec.file}: the template was not found (${error.message})`;
    }
  } else {
    why = `${spec.file} not found under ${opts.root}`;
  }
  if (opts.fallback === undefined) {
    throw new TemplateError(`${why}; --data must be the root of the ${pin.repo} repository (mmsafe data pull), or give the template "${spec.name}" with --judge-prompts FILE`);
  }
  return make(opts.fallback, { origin: 'mmsafe-fallback', note: why });
}

/** A template that lacks a field it will be filled with is not the template the benchmark means. */
function checkFields(spec: TemplateSpec, text: string, origin: TemplateOrigin): void {
  const missing = spec.fields.filter((f) => !text.includes(`{${f}}`));
  if (missing.length) throw new TemplateError(`template "${spec.name}" (${origin}) has no ${missing.map((f) => `{${f}}`).join(', ')}`);
}

/** Python's str.strip(): whitespace at both ends. */
function pyStrip(s: string): string {
  return s.replace(/^[\s\u001c-\u001f]+|[\s\u001c-\u001f]+$/g, '');
}

/**
 * Fills a template exactly as upstream does. `format` is str.format with named fields ({{ and }}
 * are literal braces; an unknown field is an error, as in Python); `replace` replaces every
 * occurrence of each {field} in turn, so later fields are also replaced inside earlier values, as
 * upstream's chained str.replace does.
 */
export function fillTemplate(t: Pick<ResolvedTemplate, 'text' | 'fill' | 'fields'>, values: Record<string, string>): string {
  if (t.fill === 'replace') {
    let out = t.text;
    for (const f of t.fields) out = out.split(`{${f}}`).join(values[f] ?? '');
    return out;
  }
  return t.text.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (m, name: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    if (name === undefined || !(name in values)) throw new TemplateError(`template field {${name}} has no value`);
    return values[name];
  });
}

/** GitHub's archive of the repository at the pinned commit. */
export function archiveUrl(pin: UpstreamPin): string {
  return `https://codeload.github.com/${pin.repo}/tar.gz/${pin.commit}`;
}

export interface PinCheck {
  verified: string[];
  differing: { file: string; blob: string; expected: string }[];
  missing: string[];
}

/** Compares the files mmsafe reads under `root` with their blob ids at the pinned commit. */
export function checkPin(root: string, pin: UpstreamPin): PinCheck {
  const out: PinCheck = { verified: [], differing: [], missing: [] };
  for (const [file, expected] of Object.entries(pin.blobs)) {
    const full = path.join(root, file);
    if (!existsSync(full)) {
      out.missing.push(file);
      continue;
    }
    const blob = gitBlobId(readFileSync(full));
    if (blob === expected) out.verified.push(file);
    else out.differing.push({ file, blob, expected });
  }
  return out;
}

/** The templates a run resolved (upstream file, --judge-prompts or mmsafe's fallback), by name. */
export interface UpstreamTemplates {
  text(name: string): string;
  /** Fills a template the way upstream does (str.format or chained str.replace). */
  fill(name: string, values: Record<string, string>): string;
}

/** Resolves every template a protocol needs; `sources` is what the run records about them. */
export function resolveTemplates(
  specs: readonly TemplateSpec[],
  pin: UpstreamPin,
  opts: { root: string; overrides?: Record<string, string>; fallbacks?: Record<string, string> },
): { templates: UpstreamTemplates; sources: TemplateSource[] } {
  const byName = new Map(specs.map((s) => [s.name, resolveTemplate(s, pin, { root: opts.root, overrides: opts.overrides, fallback: opts.fallbacks?.[s.name] })]));
  const get = (name: string) => {
    const t = byName.get(name);
    if (!t) throw new TemplateError(`no template named "${name}"`);
    return t;
  };
  return {
    templates: { text: (name) => get(name).text, fill: (name, values) => fillTemplate(get(name), values) },
    sources: [...byName.values()].map((t) => t.source),
  };
}


/**
 * What a report must say about a run's templates: any that are not the benchmark's own (mmsafe's
 * fallback rubric, a user's --judge-prompts) or that did not match the pinned commit.
 */
export function templateNotes(sources: readonly TemplateSource[] | undefined): string[] {
  const notes: string[] = [];
  for (const t of sources ?? []) {
    if (t.origin === 'mmsafe-fallback') notes.push(`note: ${t.name} is mmsafe's own fallback rubric, not the paper's prompt (${t.note ?? 'upstream file not found'}); numbers are not comparable with published ones`);
    else if (t.origin === 'judge-prompts') notes.push(`note: ${t.name} came from --judge-prompts, not the paper's repository`);
    else if (t.verified === false) notes.push(`note: ${t.name}: ${t.note ?? 'the upstream file differs from the pinned commit'}`);
  }
  return notes;
}
