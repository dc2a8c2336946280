import { ProviderError } from '../core/types.ts';

/**
 * One deadline for a whole request, response body included. The SDKs' own timeouts stop at the
 * response headers, so a server that sends headers and then stalls or trickles would hold a
 * sample for Node's socket limit (300 s) or forever; this signal aborts the body read as well.
 */
export async function withDeadline<T>(
  timeoutMs: number,
  outer: AbortSignal | undefined,
  who: string,
  request: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`no answer within ${timeoutMs} ms`));
  }, timeoutMs);
  const cancel = () => controller.abort(outer?.reason);
  if (outer?.aborted) cancel();
  else outer?.addEventListener('abort', cancel, { once: true });
  try {
    return await request(controller.signal);
  } catch (error) {
    if (timedOut && !outer?.aborted) throw new ProviderError('timeout', `${who}: no complete answer within ${timeoutMs} ms`, { cause: error });
    throw error;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', cancel);
  }
}
