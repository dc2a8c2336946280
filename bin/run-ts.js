#!/usr/bin/env node
// Runs any TypeScript entry point (scripts, benchmarks) through tsx: `node bin/run-ts.js FILE args...`.
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
register();
const [, , file, ...rest] = process.argv;
process.argv = [process.argv[0], file, ...rest];
await import(pathToFileURL(path.resolve(file)).href);
