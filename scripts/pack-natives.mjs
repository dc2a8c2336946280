// `npm pack` bundles the runtime dependencies (package.json bundleDependencies) so the tarball
// installs with no registry. npm packs each bundled package by its own "files" list, which leaves
// out better-sqlite3's compiled addon (build/): this copies it, for the duration of the pack, to
// lib/binding/node-v<abi>-<platform>-<arch>/, a place its loader (bindings) also looks and its
// "files" list includes. `--clean` (postpack) removes the copy again.
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'better-sqlite3');
const dir = path.join(pkg, 'lib', 'binding', `node-v${process.versions.modules}-${process.platform}-${process.arch}`);

if (process.argv.includes('--clean')) {
  rmSync(path.join(pkg, 'lib', 'binding'), { recursive: true, force: true });
} else {
  const built = path.join(pkg, 'build', 'Release', 'better_sqlite3.node');
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm ci first`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(built, path.join(dir, 'better_sqlite3.node'));
  console.error(`packed better-sqlite3's addon for ${process.platform}-${process.arch}, Node ABI ${process.versions.modules}`);
}
