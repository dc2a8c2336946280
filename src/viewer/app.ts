import { Hono } from 'hono';
import type { Store } from '../store/store.ts';
import type { ViewerContext } from './context.ts';
import { RunSamples } from './datasets.ts';
import { loopbackGuard } from './guard.ts';
import { HeavyPages } from './heavy.ts';
import { newViewerToken } from './params.ts';
import { acrossRunsPage } from './pages/across.ts';
import { imageRoute } from './pages/image.ts';
import { runPages } from './pages/runs.ts';
import { samplePages } from './pages/sample.ts';
import { samplesPage } from './pages/samples.ts';

/**
 * The local viewer: runs, leaderboards and charts, a filterable sample table, sample pages with
 * image and answer, the same sample across runs, and human labels. Everything is read from the
 * store and the runs' datasets; model output is escaped wherever it is shown. Each page lives in
 * its own module under pages/.
 */
export function createViewer(store: Store): Hono {
  const app = new Hono();
  const ctx: ViewerContext = { store, samples: new RunSamples(store), token: newViewerToken(), heavy: new HeavyPages(store) };
  app.use('*', loopbackGuard(ctx.token));
  // Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
  app.get('/favicon.ico', (c) => c.body(null, 204));
  for (const routes of [runPages, samplesPage, samplePages, acrossRunsPage, imageRoute]) routes(app, ctx);
  return app;
}
