#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { freshBundle } from './build.js';

await import(pathToFileURL(await freshBundle('cli/main.ts', 'mmsafe.mjs')).href);
