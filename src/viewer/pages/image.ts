import { readRegularFile } from '../../images/read.ts';
import { loadSharp } from '../../images/sharp.ts';
import { sniffImageType } from '../../images/sniff.ts';
import type { Routes } from '../context.ts';

/** A sample's image, as a thumbnail or (`?full=1`) as stored; only from the run's own directories. */
export const imageRoute: Routes = (app, { samples }) => {
  app.get('/image/:id/:sid', async (c) => {
    const file = await samples.imagePath(c.req.param('id'), c.req.param('sid'));
    if (!file) return c.text('no image', 404);
    let bytes: Buffer;
    try {
      bytes = await readRegularFile(file);
    } catch {
      return c.text('image unreadable', 404);
    }
    const type = sniffImageType(bytes);
    if (!type) return c.text('not an image', 415);
    c.header('cache-control', 'private, max-age=3600');
    if (c.req.query('full')) {
      c.header('content-type', type);
      return c.body(new Uint8Array(bytes));
    }
    try {
      const sharp = await loadSharp();
      const thumb = await sharp(bytes).rotate().resize({ width: 480, height: 480, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
      c.header('content-type', 'image/jpeg');
      return c.body(new Uint8Array(thumb));
    } catch {
      return c.text('image unreadable', 415);
    }
  });
};
