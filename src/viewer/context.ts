import type { Hono } from 'hono';
import type { Store } from '../store/store.ts';
import type { RunSamples } from './datasets.ts';
import type { HeavyPages } from './heavy.ts';

/** What every page module gets: the store it reads, and the runs' datasets (images, prompts). */
export interface ViewerContext {
  store: Store;
  samples: RunSamples;
  /** Made at start and written into this viewer's own forms: every write must carry it. */
  token: string;
  /** Pages that summarise whole runs: kept under the runs' stamps, computed one at a time. */
  heavy: HeavyPages;
}

/** A page module adds its routes to the viewer. */
export type Routes = (app: Hono, ctx: ViewerContext) => void;
