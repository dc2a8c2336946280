// Builds dist/ from src/ when src/ has changed: the CLI then starts as plain JavaScript (fast,
// which matters when a run's first request should leave within half a second), yet a developer
// or a fresh clone never runs stale code. Concurrent starts are safe: each writes a temp file and
// renames it into place.
import { mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function newestSource() {
  let newest = 0;
  for (const entry of readdirSync(path.join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** Returns the path of an up-to-date bundle of `entry` (relative to src/), building it if needed. */
export async function freshBundle(entry, name) {
  const out = path.join(root, 'dist', name);
  let built = 0;
  try {
    built = statSync(out).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newestSource()) return out;
  return buildBundle(entry, name, { sourcemap: 'inline' });
}

/** Builds dist/<name> from src/<entry>; the packed package's copy has no source map (smaller, parses faster). */
export async function buildBundle(entry, name, { sourcemap = false } = {}) {
  const out = path.join(root, 'dist', name);
  const { build } = await import('esbuild');
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp.mjs`;
  await build({
    entryPoints: [path.join(root, 'src', entry)],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap,
    logLevel: 'error',
  });
  renameSync(tmp, out);
  return out;
}

// `node bin/build.js` (npm's prepack): the bundle the packed package runs.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.error(`built ${path.relative(root, await buildBundle('cli/main.ts', 'mmsafe.mjs'))}`);
}
