// Builds dist/ from src/ when src/ has changed: the CLI then starts as plain JavaScript (fast,
// which matters when a run's first request should leave within half a second), yet a developer
// or a fresh clone never runs stale code. Concurrent starts are safe: each writes a temp file and
// renames it into place.
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
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

/**
 * Builds <outDir>/<name> from src/<entry>, split at every dynamic import into <outDir>/chunks/ (so
 * a command loads only the code it runs). Concurrent builds are safe: each builds into a folder of
 * its own, moves the chunks (named by their content) into place, and renames the entry last.
 * Chunks of earlier builds stay a day for processes still running them.
 */
export async function buildBundle(entry, name, { sourcemap = false, outDir = path.join(root, 'dist') } = {}) {
  const out = path.join(outDir, name);
  const { build } = await import('esbuild');
  const tmp = path.join(outDir, `.build-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(outDir, 'chunks'), { recursive: true });
  try {
    await build({
      entryPoints: { [name.replace(/\.mjs$/, '')]: path.join(root, 'src', entry) },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      bundle: true,
      splitting: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      sourcemap,
      logLevel: 'error',
    });
    const fresh = new Set(readdirSync(path.join(tmp, 'chunks')));
    for (const chunk of fresh) renameSync(path.join(tmp, 'chunks', chunk), path.join(outDir, 'chunks', chunk));
    renameSync(path.join(tmp, name), out);
    for (const chunk of readdirSync(path.join(outDir, 'chunks'))) {
      const file = path.join(outDir, 'chunks', chunk);
      if (!fresh.has(chunk) && Date.now() - statSync(file).mtimeMs > 86_400_000) rmSync(file, { force: true });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

// `node bin/build.js` (npm's prepack): the bundle the packed package runs, in a folder of its own
// (dist/release/, rebuilt from empty) so the clone's own bundle and its running processes are untouched.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = path.join(root, 'dist', 'release');
  rmSync(outDir, { recursive: true, force: true });
  console.error(`built ${path.relative(root, await buildBundle('cli/main.ts', 'mmsafe.mjs', { outDir }))}`);
}
