/**
 * The first Ctrl-C (or SIGTERM) asks the work to stop after the requests in flight, so nothing
 * answered is lost; a second one quits at once (exit 130). Both leave the run resumable.
 */
export function onInterrupt(message: string): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let interrupts = 0;
  const handler = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write(`\nmmsafe: ${message} (press Ctrl-C again to quit now)\n`);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
