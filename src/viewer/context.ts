import type { Hono } from 'hono';
import type { Store } from '../store/store.ts';
import type { RunSamples } from './datasets.ts';

/** What every page module gets: the store it reads, and the runs' datasets (images, prompts). */
export interface ViewerContext {
  store: Store;
  samples: RunSamples;
}

/** A page module adds its routes to the viewer. */
export type Routes = (app: Hono, ctx: ViewerContext) => void;
