import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import type { Store } from '../store/store.ts';
import { createViewer } from './app.ts';

/** Starts the viewer on 127.0.0.1 only: it shows model outputs and takes labels, so it is never exposed. */
export function startViewer(store: Store, port = 0): Promise<{ url: string; server: ServerType; close: () => Promise<void> }> {
  const app = createViewer(store);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}/`,
        server,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
    server.on('error', reject);
  });
}
