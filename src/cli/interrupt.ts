import { say } from './print.ts';

/**
 * The first Ctrl-C (or SIGTERM) stops the work: requests in flight are cancelled (their samples
 * stay unanswered and are asked again on resume), answers already stored are kept. Our handlers
 * are removed on that first signal, so a second one gets the system's default action and ends
 * the process at once, even if something holds the event loop. Both leave the run resumable.
 */
export function onInterrupt(message: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const dispose = () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
  function handler() {
    dispose();
    say(`\nmmsafe: ${message} (press Ctrl-C again to quit now)\n`);
    controller.abort(new Error('interrupted'));
  }
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return { signal: controller.signal, dispose };
}
