#!/usr/bin/env node
// In a clone (src/ present) the CLI runs from a bundle rebuilt whenever src/ changes, so a developer
// never runs stale code; an installed package has no src/ and runs the bundle built at `npm pack`
// (dist/release/).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const inClone = existsSync(fileURLToPath(new URL('../src/cli/main.ts', import.meta.url)));
const bundle = inClone
  ? await (await import('./build.js')).freshBundle('cli/main.ts', 'mmsafe.mjs')
  : fileURLToPath(new URL('../dist/release/mmsafe.mjs', import.meta.url));
await import(pathToFileURL(bundle).href);
